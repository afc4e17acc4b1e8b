// Lint: ESLint's and typescript-eslint's recommended rules, formatting left to Prettier, and the
// layers: imports go only downward. From the top:
//   provider/plugin (serves everything over gRPC)
//   components (build on the public resources)
//   provider/resources (the Pulumi classes)
//   provider/engine (the dynamic providers' hooks)
//   provider/rollout, provider/rotation (release and bucket rotation logic)
//   provider/docker, provider/slb (I/O clients), provider/registry (the registry API, below docker)
//   provider/schedule and provider/*.ts (pure: model, validation, placement, hashes)
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

/** Each place and the layers above it, which it must not import from. */
const ABOVE = [
    [["components/**/*.ts"], ["plugin"]],
    [["provider/resources/**/*.ts"], ["plugin", "components"]],
    [["provider/engine/**/*.ts"], ["plugin", "components", "resources"]],
    [
        ["provider/*.ts", "provider/rollout/**/*.ts", "provider/rotation/**/*.ts"],
        ["plugin", "components", "resources", "engine"],
    ],
    [
        ["provider/docker/**/*.ts", "provider/slb/**/*.ts"],
        ["plugin", "components", "resources", "engine", "rollout", "rotation"],
    ],
    [
        ["provider/registry/**/*.ts", "provider/schedule/**/*.ts"],
        ["plugin", "components", "resources", "engine", "rollout", "rotation", "docker"],
    ],
];
const layers = ABOVE.map(([files, above]) => ({
    files,
    rules: {
        "no-restricted-imports": [
            "error",
            { patterns: [{ regex: `(^|/)(${above.join("|")})/`, message: `imports go only downward: not from ${above.join(", ")}` }] },
        ],
    },
}));

export default tseslint.config(
    { ignores: ["dist/", "node_modules/", "bench/results/", "tools/", "bin/", "examples/python*/", "**/*.mjs"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    prettier,
    {
        rules: {
            // Values from the wire, the Docker API and the CLI's JSON are typed where they enter; `any` marks those seams.
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-unused-vars": [
                "error",
                { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", caughtErrors: "none" },
            ],
            // Modules found at run time (the engines by package name, for state that outlives a checkout; the SDK's gRPC
            // stubs beside @pulumi/pulumi) are loaded with a computed path: require is how. tsc checks the static imports.
            "@typescript-eslint/no-require-imports": "off",
            // An interface over one type names it for schema.ts, which derives the schema's type names from them.
            "@typescript-eslint/no-empty-object-type": ["error", { allowInterfaces: "with-single-extends" }],
        },
    },
    ...layers,
);
