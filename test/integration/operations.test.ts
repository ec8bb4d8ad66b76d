/** Stats, OOM notifications and resource updates on real containers. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerExitedError, InvalidArgumentError, RuntimeError } from '../../src/index.js';
import { cgroupPathsForPid } from '../../src/runtime/cgroups/paths.js';
import { sandbox, type Sandbox, fakeRuntime } from '../helpers/env.js';

const MiB = 1024 * 1024;

const box: Sandbox = sandbox();
after(() => box.cleanup());

function cgroupFile(pid: number, controller: string, file: string): string {
  const dir = cgroupPathsForPid(pid).v1.get(controller);
  assert.ok(dir, `no ${controller} cgroup`);
  return readFileSync(join(dir, file), 'utf8').trim();
}

describe('stats', () => {
  test('match runc events --stats, grow as the container works, and refuse a stopped container', async () => {
    const container = await box.create({
      args: [
        'sh',
        '-c',
        'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; dd if=/dev/zero of=/tmp/fill bs=1M count=40 2>/dev/null; sleep 100',
      ],
      memoryLimit: 256 * MiB,
    });
    const init = await container.start();
    await init.start();
    const first = await container.stats();
    await sleep(1500);
    const second = await container.stats();
    const runc = JSON.parse(
      execFileSync('runc', [...container.runtimeArgs, 'events', '--stats', container.id], {
        encoding: 'utf8',
      }),
    ).data;

    assert.ok(second.cpu.usage.total > first.cpu.usage.total, 'CPU time grows');
    assert.ok(
      second.memory.usage.usage > first.memory.usage.usage + 30n * BigInt(MiB),
      'memory grows after it allocates',
    );
    assert.ok(second.timestamp > first.timestamp);

    // Static values: exact.
    assert.equal(second.memory.usage.limit, BigInt(256 * MiB));
    assert.equal(second.memory.usage.limit, BigInt(runc.memory.usage.limit));
    assert.equal(second.memory.swap.limit, BigInt(runc.memory.swap.limit));
    assert.equal(second.pids.limit, BigInt(runc.pids.limit ?? 0));
    assert.equal(second.cpu.usage.percpu.length, runc.cpu.usage.percpu.length);
    assert.deepEqual(Object.keys(second.hugetlb).sort(), Object.keys(runc.hugetlb ?? {}).sort());
    // Moving counters: close, with the 1.5 s of sleep-only time making them nearly still.
    const near = (ours: bigint, theirs: number, tolerance: number, what: string) =>
      assert.ok(Math.abs(Number(ours) - theirs) <= tolerance, `${what}: ${ours} vs runc ${theirs}`);
    near(second.cpu.usage.total, runc.cpu.usage.total, 50e6, 'cpu total');
    near(second.memory.usage.usage, runc.memory.usage.usage, 2 * MiB, 'memory usage');
    near(second.memory.cache, runc.memory.cache, 2 * MiB, 'memory cache');
    near(second.pids.current, runc.pids.current, 0, 'pids current');

    await container.delete({ force: true });
    await assert.rejects(container.stats(), ContainerExitedError);
  });
});

describe('OOM', () => {
  test('a 32 MB container allocating 200 MB: a notification, exit 137, removed after delete', async () => {
    const container = await box.create({
      args: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=200M', 'count=1'],
      memoryLimit: 32 * MiB,
    });
    const init = await container.start();
    const oom = await container.oom();
    assert.equal(oom.containerId, container.id);
    assert.equal(oom.removed, false);
    await init.start();
    const events = [];
    for await (const event of oom) {
      events.push(event);
      break;
    }
    assert.equal(events.length, 1);
    assert.equal(events[0]!.containerId, container.id);
    assert.equal(await init.wait(), 137);
    await container.delete();
    assert.equal(oom.removed, true);
    oom.close();
  });

  test('oom() of a stopped container is refused', async () => {
    const container = await box.create({ args: ['true'] });
    const init = await container.start();
    await init.start();
    await init.wait();
    await assert.rejects(container.oom(), ContainerExitedError);
    await container.delete();
  });
});

describe('updateResources', () => {
  test('every field reaches the cgroup (or the runtime), unset fields are not touched, bad values fail cleanly', async (t) => {
    const record = join(box.base, 'update-calls.txt');
    rmSync(record, { force: true });
    rmSync(`${record}.stdin`, { force: true });
    process.env.BERTH_RECORD_FILE = record;
    try {
      const container = await box.create(
        { args: ['sleep', '100'], memoryLimit: 256 * MiB },
        { runtime: fakeRuntime('recording-runtime') },
      );
      const init = await container.start();
      await init.start();
      const pid = init.systemPid;

      // Kernels without CFQ/BFQ (no blkio.weight nor blkio.bfq.weight) cannot take a
      // weight: runc fails writing the file. Ask for one only where the kernel has it.
      const blkio = cgroupPathsForPid(pid).v1.get('blkio')!;
      const weightFile = ['blkio.weight', 'blkio.bfq.weight'].find((name) =>
        existsSync(join(blkio, name)),
      );
      if (!weightFile)
        t.diagnostic(
          `blkioWeight not checked: this kernel's blkio cgroup (${blkio}) has no blkio.weight nor blkio.bfq.weight`,
        );
      await container.updateResources({
        cpuShares: 512,
        cpuPeriod: 50_000,
        cpuQuota: 25_000,
        cpusetCpus: '0',
        cpusetMems: '0',
        ...(weightFile ? { blkioWeight: 300 } : {}),
        memory: 64 * MiB,
        memoryReservation: 32 * MiB,
        memorySwap: 128 * MiB,
        kernelMemory: 64 * MiB,
        kernelTCPMemory: 32 * MiB,
      });
      assert.equal(cgroupFile(pid, 'cpu', 'cpu.shares'), '512');
      assert.equal(cgroupFile(pid, 'cpu', 'cpu.cfs_period_us'), '50000');
      assert.equal(cgroupFile(pid, 'cpu', 'cpu.cfs_quota_us'), '25000');
      assert.equal(cgroupFile(pid, 'cpuset', 'cpuset.cpus'), '0');
      assert.equal(cgroupFile(pid, 'cpuset', 'cpuset.mems'), '0');
      if (weightFile)
        assert.equal(
          cgroupFile(pid, 'blkio', weightFile)
            .split('\n')[0]!
            .replace(/^default /, ''),
          '300',
        );
      assert.equal(cgroupFile(pid, 'memory', 'memory.limit_in_bytes'), String(64 * MiB));
      assert.equal(cgroupFile(pid, 'memory', 'memory.soft_limit_in_bytes'), String(32 * MiB));
      assert.equal(cgroupFile(pid, 'memory', 'memory.memsw.limit_in_bytes'), String(128 * MiB));
      // runc 1.1 takes kernel memory limits but ignores them (the kernel deprecated them): check they were asked for.
      const asked = JSON.parse(readFileSync(`${record}.stdin`, 'utf8').trim().split('\n')[0]!);
      assert.deepEqual(asked.memory, {
        limit: 64 * MiB,
        reservation: 32 * MiB,
        swap: 128 * MiB,
        kernel: 64 * MiB,
        kernelTCP: 32 * MiB,
      });

      await container.updateResources({ memory: 96 * MiB });
      assert.equal(cgroupFile(pid, 'memory', 'memory.limit_in_bytes'), String(96 * MiB));
      assert.equal(cgroupFile(pid, 'cpu', 'cpu.shares'), '512', 'an unset field is not touched');
      assert.equal(
        cgroupFile(pid, 'cpu', 'cpu.cfs_quota_us'),
        '25000',
        'an unset field is not touched',
      );
      assert.deepEqual(JSON.parse(readFileSync(`${record}.stdin`, 'utf8').trim().split('\n')[1]!), {
        memory: { limit: 96 * MiB },
      });

      await assert.rejects(
        container.updateResources({ cpusetCpus: '64-127' }),
        (err: unknown) => err instanceof RuntimeError && /cpuset/.test(err.message),
      );
      assert.equal(cgroupFile(pid, 'cpuset', 'cpuset.cpus'), '0');
      await assert.rejects(container.updateResources({ memory: -5 }), InvalidArgumentError);
      await assert.rejects(container.updateResources({ memory: 1.5 }), InvalidArgumentError);
      await assert.rejects(container.updateResources({ cpusetCpus: 'all' }), InvalidArgumentError);
      await assert.rejects(
        container.updateResources({ swapiness: 1 } as never),
        InvalidArgumentError,
      );

      await container.delete({ force: true });
      await assert.rejects(container.updateResources({ memory: 64 * MiB }), ContainerExitedError);
    } finally {
      delete process.env.BERTH_RECORD_FILE;
    }
  });
});
