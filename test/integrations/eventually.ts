import { setTimeout as sleep } from "node:timers/promises";

/** Polls `condition` every 10 ms until it holds; fails after 3 s, saying `what` did not happen. */
export async function eventually(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 3000) throw new Error(`not within 3 s: ${what}`);
    await sleep(10);
  }
}
