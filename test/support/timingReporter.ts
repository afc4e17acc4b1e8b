// Mocha reporter: the spec reporter, then how long each test file took (its hooks included),
// longest first, so the CI budget can be watched file by file as the suite grows.
import * as Mocha from "mocha";

const { EVENT_SUITE_BEGIN, EVENT_SUITE_END, EVENT_RUN_END } = Mocha.Runner.constants;

class SpecWithFileTimes extends Mocha.reporters.Spec {
    constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
        super(runner, options);
        const started = new Map<Mocha.Suite, number>();
        const perFile = new Map<string, number>();
        // A file's top-level suites are the root suite's children.
        runner.on(EVENT_SUITE_BEGIN, (suite) => {
            if (suite.file && suite.parent?.root) started.set(suite, Date.now());
        });
        runner.on(EVENT_SUITE_END, (suite) => {
            const t0 = started.get(suite);
            if (t0 !== undefined) perFile.set(suite.file!, (perFile.get(suite.file!) ?? 0) + Date.now() - t0);
        });
        runner.once(EVENT_RUN_END, () => {
            const rows = [...perFile].sort((a, b) => b[1] - a[1]);
            const total = rows.reduce((sum, [, ms]) => sum + ms, 0);
            console.log("  time per test file:");
            for (const [file, ms] of rows) console.log(`  ${(ms / 1000).toFixed(1).padStart(8)} s  ${file.replace(`${process.cwd()}/`, "")}`);
            console.log(`  ${(total / 1000).toFixed(1).padStart(8)} s  in all\n`);
        });
    }
}

export = SpecWithFileTimes;
