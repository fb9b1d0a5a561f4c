/**
 * What one message costs through the OTP layer, and what a supervisor with
 * 10,000 children costs (issue: "Mind nact's internals").
 *
 *   npm run bench:otp
 *
 * Every figure is CPU time per operation (user + system of this process),
 * steadier than wall time on a shared machine; wall time is printed too.
 */
import { dispatch, spawn, start, stop } from 'nact';
import { type GenServer, call, cast, noreply, reply, startLink } from '../lib/otp/gen_server';
import type { Link, Ref } from '../lib/otp/process';
import { type SimpleSupervisorRef, startChild, startLink as startSupervisor, terminateChild } from '../lib/otp/supervisor';

const MESSAGES = 200_000;
const CALLS = 20_000;
const CHILDREN = 10_000;

const counter: GenServer<void, number, 'count', 'tick', number> = {
  behaviour: 'counter',
  init: () => 0,
  handleCall: (_request, _from, count) => reply(count, count),
  handleCast: (_tick, count) => noreply(count + 1),
};

async function measure(label: string, operations: number, run: () => Promise<void>): Promise<void> {
  const cpu = process.cpuUsage();
  const wall = process.hrtime.bigint();
  await run();
  const wallMs = Number(process.hrtime.bigint() - wall) / 1e6;
  const { user, system } = process.cpuUsage(cpu);
  const cpuUs = (user + system) / operations;
  console.log(`${label.padEnd(58)} ${cpuUs.toFixed(2).padStart(9)} µs CPU/op ${(wallMs / operations * 1000).toFixed(2).padStart(9)} µs wall/op  (${operations} ops)`);
}

async function main(): Promise<void> {
  const system = start() as Ref;
  const link = (name: string): Link => ({ parent: system, name, restarts: 0, onExit: () => undefined });

  await measure('raw nact: dispatch to a stateful actor', MESSAGES, async () => {
    let handled = 0;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const actor = spawn(system as never, (state: number) => {
      if (++handled === MESSAGES) done();
      return state + 1;
    }, 'raw', { initialState: 0 });
    for (let i = 0; i < MESSAGES; i++) dispatch(actor, 'tick');
    await finished;
  });

  const server = await startLink(link('counter'), counter, undefined);
  await measure('gen_server: cast', MESSAGES, async () => {
    for (let i = 0; i < MESSAGES; i++) cast(server, 'tick');
    await call(server, 'count', 60_000);
  });
  await measure('gen_server: call (sequential round trips)', CALLS, async () => {
    for (let i = 0; i < CALLS; i++) await call(server, 'count');
  });

  const pool = (await startSupervisor(link('pool'), {
    init: () => ({ flags: { strategy: 'simple_one_for_one' as const }, children: [{ id: 'counter', start: (childLink: Link) => startLink(childLink, counter, undefined) }] }),
  }, undefined)) as SimpleSupervisorRef<[]>;
  await measure(`supervisor: startChild up to ${CHILDREN} children`, CHILDREN, async () => {
    await Promise.all(Array.from({ length: CHILDREN }, () => startChild(pool)));
  });
  const child = await startChild(pool);
  await measure(`gen_server: cast to one of ${CHILDREN} supervised siblings`, MESSAGES, async () => {
    for (let i = 0; i < MESSAGES; i++) cast(child, 'tick');
    await call(child, 'count', 60_000);
  });
  await measure(`supervisor: startChild + terminateChild beside ${CHILDREN}`, 1_000, async () => {
    for (let i = 0; i < 1_000; i++) await terminateChild(pool, await startChild(pool));
  });

  // The trap the supervisor avoids: nact copies an actor's children map for every message it handles.
  const TRAP_MESSAGES = 200;
  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const crowded = spawn(system as never, (state: number) => {
    if (++handled === TRAP_MESSAGES) done();
    return state;
  }, 'crowded', { initialState: 0 });
  for (let i = 0; i < CHILDREN; i++) spawn(crowded, (state: unknown) => state, `c${i}`);
  await measure(`raw nact: message to an actor with ${CHILDREN} children (the trap)`, TRAP_MESSAGES, async () => {
    for (let i = 0; i < TRAP_MESSAGES; i++) dispatch(crowded, 'tick');
    await finished;
  });

  stop(system as never);
}

void main();
