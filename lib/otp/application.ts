/**
 * An OTP application: a nact actor system with one root supervisor.
 *
 * When the root supervisor exits without being asked to (its restart
 * intensity was exceeded, or it was killed), the application is over: by
 * default the process logs why and exits with status 1, so that whatever
 * runs the daemon (systemd, Kubernetes) restarts it, as `heart` or a
 * permanent application would in Erlang.
 */
import { flushLog, log } from '../log';
import { type ExitReason, formatReason } from './exit_reason';
import * as nact from './nact';
import { Process, type Ref, type Shutdown } from './process';
import { type SupervisorModule, startLink } from './supervisor';
import { type ActorInfo, describeTree, whereis } from './sys';

export interface ApplicationSpec<Args> {
  /** The root supervisor's name, e.g. `warren_sup`. */
  readonly name: string;
  readonly supervisor: SupervisorModule<Args>;
  readonly args: Args;
  readonly onRootExit?: (reason: ExitReason) => void;
}

export class Application {
  readonly startedAt = new Date();
  private stopping = false;

  private constructor(
    private readonly system: Ref,
    readonly root: Ref,
  ) {}

  static async start<Args>(spec: ApplicationSpec<Args>): Promise<Application> {
    const system = nact.start() as Ref;
    let app: Application | undefined;
    const onRootExit = spec.onRootExit ?? exitProcess;
    try {
      const root = await startLink(
        {
          parent: system,
          name: spec.name,
          restarts: 0,
          onExit: (reason) => {
            if (app?.stopping) return;
            log.fatal({ reason: formatReason(reason) }, `${spec.name} exited (${formatReason(reason)}): the application stops`);
            nact.stop(system as never);
            onRootExit(reason);
          },
        },
        spec.supervisor,
        spec.args,
      );
      app = new Application(system, root);
      return app;
    } catch (error) {
      nact.stop(system as never);
      throw error;
    }
  }

  /** The live actor tree under the root supervisor. */
  describe(): ActorInfo | undefined {
    return describeTree(this.root);
  }

  /** Crashes the actor at `path` as if its handler threw; false when there is none. */
  kill(path: string): boolean {
    const proc = whereis(this.root, path);
    proc?.crash();
    return proc !== undefined;
  }

  /** Stops the whole tree in order (children before parents, newest first). */
  async stop(shutdown: Shutdown = 'infinity'): Promise<void> {
    this.stopping = true;
    await Process.of(this.root)?.shutdown('shutdown', shutdown);
    nact.stop(this.system as never);
  }
}

function exitProcess(): void {
  flushLog();
  process.exit(1);
}
