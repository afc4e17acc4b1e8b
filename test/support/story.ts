// Tests that build on each other, as a story: a stack deployed, then released, then destroyed. Each
// step first runs the steps before it that have not run in this process, inside its own test (its
// timeout grows by one test's timeout for each), so `--grep` of any one step works alone; run whole,
// the file runs every step once, in order, as before.
import type { Context, Test } from "mocha";

type Body = (this: Context) => unknown;

interface Step {
    title: string;
    body: Body;
    state: "not run" | "running" | "passed" | "failed";
}

export interface StoryOptions {
    /** Runs after every step, whether it ran as its own test or before another (e.g. sinon.restore). */
    afterEachStep?: () => unknown;
}

/** A story's `it`: registers a step (a mocha test of the same title) that builds on every step registered before it. */
export function story(options: StoryOptions = {}): (title: string, body: Body) => Test {
    const steps: Step[] = [];

    async function run(ctx: Context, step: Step): Promise<void> {
        step.state = "running";
        try {
            await step.body.call(ctx);
            step.state = "passed";
        } catch (e) {
            step.state = "failed";
            throw e;
        } finally {
            await options.afterEachStep?.();
        }
    }

    return (title, body) => {
        const step: Step = { title, body, state: "not run" };
        const earlier = [...steps];
        steps.push(step);
        return it(title, async function () {
            const broken = earlier.find((s) => s.state === "failed" || s.state === "running");
            if (broken) {
                const why = broken.state === "failed" ? "which failed" : "which has not finished (its test timed out)";
                throw new Error(`not run: this step builds on "${broken.title}", ${why}`);
            }
            const missing = earlier.filter((s) => s.state === "not run");
            const timeout = this.timeout();
            if (missing.length > 0 && timeout > 0) this.timeout(timeout * (missing.length + 1));
            for (const s of missing) {
                console.error(`      first, the step it builds on: ${s.title}`);
                await run(this, s).catch((e) => {
                    console.error(`      that step failed: ${s.title}`);
                    throw e;
                });
            }
            await run(this, step);
        });
    };
}
