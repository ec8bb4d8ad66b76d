/**
 * `berth images pull|ls|inspect|rm|import|prune`: the image store on this
 * machine, used directly (no berthd needed; berthd and the CLI share the
 * store under its lock).
 */
import { Command, Option } from '@commander-js/extra-typings';
import { addGlobalOptions, addJsonOption } from '../context.js';
import type { Image } from '../../images/index.js';
import { formatBytes, openStore, pullWithProgress, shortId, STORE_ENV } from '../images.js';
import { printJson, table } from '../output.js';
import { collect } from '../parse.js';
import { interruptible } from '../progress.js';
import { act, examples, leaf } from './common.js';

/** `--store DIR`, on every images command and on `run`. */
export function storeOption() {
  return new Option(
    '--store <dir>',
    `the image store (default: $${STORE_ENV}, else /var/lib/berth)`,
  );
}

function age(created: string | undefined, now = Date.now()): string {
  const at = created ? Date.parse(created) : NaN;
  if (Number.isNaN(at)) return '';
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  const steps: [number, string][] = [
    [365 * 86400, 'year'],
    [30 * 86400, 'month'],
    [7 * 86400, 'week'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, unit] of steps) {
    const count = Math.floor(seconds / size);
    if (count >= 1) return `${count} ${unit}${count > 1 ? 's' : ''} ago`;
  }
  return 'just now';
}

function imagesTable(images: Image[]): string {
  const rows = images.map((image) => [
    image.name || '<none>',
    shortId(image.id),
    age(image.created ?? image.config.created),
    formatBytes(image.size),
  ]);
  return table(['NAME', 'IMAGE ID', 'CREATED', 'SIZE'], rows);
}

export function imagesCommand(): Command {
  const group = new Command('images').description(
    'pull, list, inspect, remove, import and prune images (the store on this machine)',
  );
  addGlobalOptions(group, true);
  addJsonOption(group, 'print JSON for scripts', true);
  group.addHelpText(
    'after',
    examples(
      'berth images pull busybox',
      'berth images ls',
      "berth run busybox -- sh -c 'id'",
      'berth images rm busybox && berth images prune',
    ),
  );

  const pull = leaf('pull', 'pull an image from its registry into the store')
    .argument(
      '<ref>',
      'an image reference: busybox, docker.io/library/alpine:3.20, host:5000/app@sha256:...',
    )
    .addOption(storeOption())
    .option(
      '--insecure-registry <host>',
      'reach this registry over plain HTTP (repeatable)',
      collect,
    )
    .addHelpText(
      'after',
      examples('berth images pull busybox', 'berth images pull --json 127.0.0.1:5000/app:1'),
    );
  group.addCommand(
    act(pull, async (ctx, [ref], opts) => {
      const store = await openStore(opts);
      const image = await pullWithProgress(store, ref, {
        json: ctx.json,
        insecureRegistries: opts.insecureRegistry ?? [],
      });
      if (ctx.json) printJson(ctx.out, image);
      else ctx.out.write(`${image.name} ${image.id}\n`);
    }),
  );

  const ls = leaf('ls', 'list the images in the store')
    .alias('list')
    .addOption(storeOption())
    .addHelpText('after', examples('berth images ls', 'berth images ls --json --store /srv/berth'));
  group.addCommand(
    act(ls, async (ctx, _args, opts) => {
      const store = await openStore(opts);
      const images = (await store.list()).sort((a, b) => a.name.localeCompare(b.name));
      if (ctx.json) printJson(ctx.out, images);
      else ctx.out.write(imagesTable(images));
    }),
  );

  const inspect = leaf('inspect', "print images' records (config, layers, digests) as JSON")
    .argument('<ref...>', 'name, id, id prefix (12+ hex) or repo digest')
    .addOption(storeOption())
    .addHelpText(
      'after',
      examples('berth images inspect busybox', 'berth images inspect 3f57d9401f8d'),
    );
  group.addCommand(
    act(inspect, async (ctx, [refs], opts) => {
      const store = await openStore(opts);
      const images = [];
      for (const ref of refs) images.push(await store.get(ref));
      printJson(ctx.out, images);
    }),
  );

  const rm = leaf('rm', 'remove images (their layers go at the next prune)')
    .alias('remove')
    .argument('<ref...>', 'name, id, id prefix (12+ hex) or repo digest')
    .option(
      '-f, --force',
      'remove it even if a container uses it (its layers stay while the container does)',
    )
    .addOption(storeOption())
    .addHelpText('after', examples('berth images rm busybox', 'berth images rm -f 3f57d9401f8d'));
  group.addCommand(
    act(rm, async (ctx, [refs], opts) => {
      const store = await openStore(opts);
      const removed: Image[] = [];
      for (const ref of refs) removed.push(await store.remove(ref, { force: opts.force === true }));
      if (ctx.json) printJson(ctx.out, removed);
      else for (const image of removed) ctx.out.write(`removed ${image.name || image.id}\n`);
    }),
  );

  const importCommand = leaf(
    'import',
    'import an OCI image layout (a folder) or a docker save / OCI archive (a tar, or - for stdin)',
  )
    .argument('<source>', 'a folder, a .tar file, or - to read the tar from stdin')
    .option('--name <ref>', 'the name to give an image the source does not name')
    .addOption(storeOption())
    .addHelpText(
      'after',
      examples(
        'berth images import ./busybox-oci-layout --name busybox',
        'berth images import bb.tar    # skopeo copy docker://busybox oci-archive:bb.tar',
        'docker save app | berth images import -',
      ),
    );
  group.addCommand(
    act(importCommand, async (ctx, [source], opts) => {
      const store = await openStore(opts);
      const interrupt = interruptible();
      try {
        const images = await store.import(source === '-' ? process.stdin : source, {
          signal: interrupt.signal,
          ...(opts.name ? { name: opts.name } : {}),
        });
        if (ctx.json) printJson(ctx.out, images);
        else for (const image of images) ctx.out.write(`${image.name || '<none>'} ${image.id}\n`);
      } finally {
        interrupt.release();
      }
    }),
  );

  const prune = leaf('prune', 'remove the blobs and layers no image or container uses')
    .addOption(storeOption())
    .addHelpText('after', examples('berth images prune', 'berth images prune --json'));
  group.addCommand(
    act(prune, async (ctx, _args, opts) => {
      const store = await openStore(opts);
      const result = await store.prune();
      const folders = result.containerFolders ?? 0;
      if (ctx.json) printJson(ctx.out, { ...result, containerFolders: folders });
      else
        ctx.out.write(
          `removed ${result.blobs} blobs, ${result.layers} layers, ${folders} unused container folders: ${formatBytes(result.bytes)}\n`,
        );
    }),
  );

  return group;
}
