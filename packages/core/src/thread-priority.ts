import { getPriority, setPriority } from 'node:os';

/** Nice increment of the agent's compute threads (ONNX Runtime, image work) below its event loop. */
export const COMPUTE_THREAD_NICE = 19;

/**
 * Lowers the calling thread's CPU priority by `increment` nice steps (capped at 19), so that the event loop
 * that serves every tenant's I/O preempts compute on a busy machine. Threads the caller starts afterwards
 * (ONNX Runtime's intra-op pool) inherit it. Linux only: there `setpriority(PRIO_PROCESS, 0)` applies to
 * the calling thread; elsewhere it would renice the whole process, so it does nothing. Returns the nice
 * value the thread runs at, or undefined where it was left alone.
 */
export function lowerThreadPriority(increment: number = COMPUTE_THREAD_NICE): number | undefined {
  if (process.platform !== 'linux' || increment <= 0) return undefined;
  try {
    const nice = Math.min(19, getPriority(0) + increment);
    setPriority(0, nice);
    return getPriority(0);
  } catch {
    return undefined; // a sandbox that forbids it: run at the inherited priority
  }
}
