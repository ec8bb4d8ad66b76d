/**
 * A test's CriContainerLookup over supervisor containers it created itself
 * (the CRI containers' own lookup is containers.ts'): the views are the
 * test's, the state is the supervisor's (running, else exited; a container
 * the supervisor no longer has is exited too).
 */
import type {
  CriContainerLookup,
  CriContainerState,
  CriContainerView,
} from '../../src/cri/container-lookup.js';
import type { SupervisorApi } from '../../src/supervisor/types.js';

export type TestView = Omit<CriContainerView, 'state'> & { state?: CriContainerState };

export class TestContainerLookup implements CriContainerLookup {
  readonly #views = new Map<string, TestView>();

  constructor(readonly supervisor: SupervisorApi) {}

  add(view: Partial<TestView> & { id: string }): void {
    this.#views.set(view.id, {
      podSandboxId: '',
      metadata: { name: view.id.slice(0, 12), attempt: 0 },
      labels: {},
      annotations: {},
      image: 'busybox',
      imageRef: 'sha256:busybox',
      ...view,
    });
  }

  async resolve(idOrPrefix: string): Promise<CriContainerView | undefined> {
    const matches = [...this.#views.values()].filter((v) => v.id.startsWith(idOrPrefix));
    if (matches.length > 1) throw new Error(`ambiguous container id prefix ${idOrPrefix}`);
    return matches[0] ? this.#withState(matches[0]) : undefined;
  }

  async list(): Promise<CriContainerView[]> {
    return Promise.all([...this.#views.values()].map((v) => this.#withState(v)));
  }

  async #withState(view: TestView): Promise<CriContainerView> {
    if (view.state) return { ...view, state: view.state };
    const state = await this.supervisor.state(view.id).then(
      ({ containers }) => (containers[0]?.status === 'running' ? 'running' : 'exited'),
      () => 'exited' as const,
    );
    return { ...view, state };
  }
}
