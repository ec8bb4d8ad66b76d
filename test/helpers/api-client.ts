/** A promise-returning view of the generated grpc-js client, for tests. */
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { APIClient, APIService } from '../../src/api/generated/berth.js';
import {
  HealthClient,
  type HealthCheckResponse,
} from '../../src/api/generated/grpc/health/v1/health.js';

type Service = typeof APIService;
type UnaryName = {
  [K in keyof Service]: Service[K]['responseStream'] extends true ? never : K;
}[keyof Service];

/** Each unary RPC as `(request) => Promise<response>`. */
export type AsyncApi = {
  [K in UnaryName]: (
    request: Parameters<Service[K]['requestSerialize']>[0],
  ) => Promise<ReturnType<Service[K]['responseDeserialize']>>;
};

export interface TestClient extends AsyncApi {
  raw: APIClient;
  close(): void;
}

/**
 * A client of berthd at `address`. grpc-js shares one connection between
 * clients of the same address unless told otherwise: `ownConnection` gives
 * this one its own, as a separate program would have.
 */
export function connect(address: string, { ownConnection = false } = {}): TestClient {
  const raw = new APIClient(
    address,
    credentials.createInsecure(),
    ownConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {},
  );
  const api: Record<string, unknown> = { raw, close: () => raw.close() };
  for (const [name, method] of Object.entries(APIService)) {
    if (method.responseStream) continue;
    api[name] = (request: unknown) =>
      new Promise((resolve, reject) => {
        const fn = (raw as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!;
        fn.call(raw, request, (err: ServiceError | null, response: unknown) =>
          err ? reject(err) : resolve(response),
        );
      });
  }
  return api as unknown as TestClient;
}

/** grpc.health.v1.Health/Check on `address`, as Docker's libcontainerd asks it. */
export function healthCheck(address: string, service = ''): Promise<HealthCheckResponse> {
  const client = new HealthClient(address, credentials.createInsecure());
  return new Promise<HealthCheckResponse>((resolve, reject) =>
    client.check({ service }, (err, response) => (err ? reject(err) : resolve(response))),
  ).finally(() => client.close());
}
