/**
 * A fake registry for fault injection: serves an OCI layout's tag over the
 * distribution API (manifests, blobs with Range) and misbehaves on request
 * (hang, drop mid-blob, wrong bytes, truncation, error statuses).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

export type Fault =
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  | { kind: 'hang' }
  /** Sends this many bytes of the body, then destroys the socket. */
  | { kind: 'drop'; after: number }
  /** Sends other bytes of the same length. */
  | { kind: 'wrong' }
  /** Sends fewer bytes and ends cleanly (Content-Length matches what is sent). */
  | { kind: 'truncate'; bytes: number };

export interface FakeRequest {
  path: string;
  kind: 'ping' | 'manifest' | 'blob' | 'other';
  digest?: string;
  range?: string;
}

export interface FakeRegistry {
  host: string;
  requests: FakeRequest[];
  stop(): Promise<void>;
}

export async function startFakeRegistry(
  layoutDir: string,
  tag: string,
  fault: (request: FakeRequest, count: number) => Fault | undefined = () => undefined,
): Promise<FakeRegistry> {
  const requests: FakeRequest[] = [];
  const sockets = new Set<Socket>();
  const index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8')) as {
    manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[];
  };
  const blob = (digest: string) =>
    readFileSync(join(layoutDir, 'blobs', 'sha256', digest.slice(7)));
  const mediaTypes = new Map<string, string>();
  for (const entry of index.manifests) mediaTypes.set(entry.digest, entry.mediaType);

  const send = (
    res: ServerResponse,
    request: FakeRequest,
    body: Buffer,
    headers: Record<string, string>,
    action?: Fault,
  ) => {
    if (action?.kind === 'hang') return;
    if (action?.kind === 'status') {
      res.writeHead(action.status, action.headers).end('{"errors":[]}');
      return;
    }
    let status = 200;
    let data = body;
    const range = /^bytes=(\d+)-$/.exec(request.range ?? '');
    if (range && request.kind === 'blob') {
      const start = Number(range[1]);
      data = body.subarray(start);
      status = 206;
      headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    if (action?.kind === 'wrong') data = Buffer.alloc(data.length, 0x41);
    if (action?.kind === 'truncate') data = data.subarray(0, action.bytes);
    res.writeHead(status, {
      ...headers,
      'content-length': String(action?.kind === 'drop' ? data.length : data.length),
    });
    if (action?.kind === 'drop') {
      res.write(data.subarray(0, action.after), () => res.socket?.destroy());
      return;
    }
    res.end(data);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const manifest = /^\/v2\/.+\/manifests\/([^/]+)$/.exec(path);
    const blobMatch = /^\/v2\/.+\/blobs\/(sha256:[a-f0-9]{64})$/.exec(path);
    const request: FakeRequest = {
      path,
      kind: path === '/v2/' ? 'ping' : manifest ? 'manifest' : blobMatch ? 'blob' : 'other',
      ...(blobMatch && { digest: blobMatch[1]! }),
      ...(req.headers.range && { range: req.headers.range }),
    };
    requests.push(request);
    const action = fault(request, requests.filter((r) => r.path === path).length);
    try {
      if (manifest) {
        const wanted = manifest[1]!;
        const entry = index.manifests.find(
          (m) =>
            m.digest === wanted || m.annotations?.['org.opencontainers.image.ref.name'] === tag,
        );
        if (!entry || (wanted !== tag && wanted !== entry.digest && !mediaTypes.has(wanted))) {
          // A digest of a manifest inside an index.
          if (/^sha256:/.test(wanted)) {
            const bytes = blob(wanted);
            const type = (JSON.parse(bytes.toString()) as { mediaType?: string }).mediaType ?? '';
            send(
              res,
              request,
              bytes,
              { 'content-type': type, 'docker-content-digest': wanted },
              action,
            );
            return;
          }
          res.writeHead(404).end();
          return;
        }
        send(
          res,
          request,
          blob(entry.digest),
          { 'content-type': entry.mediaType, 'docker-content-digest': entry.digest },
          action,
        );
        return;
      }
      if (blobMatch) {
        send(
          res,
          request,
          blob(blobMatch[1]!),
          { 'content-type': 'application/octet-stream' },
          action,
        );
        return;
      }
      if (action) {
        send(res, request, Buffer.alloc(0), {}, action);
        return;
      }
      res.writeHead(request.kind === 'ping' ? 200 : 404).end();
    } catch {
      res.writeHead(404).end();
    }
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
