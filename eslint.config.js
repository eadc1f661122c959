// ESLint (typescript-eslint) for src/, test/ and bench/, plus the layer boundaries of
// docs/architecture.md: dependencies point down, and nothing outside src/cli imports src/cli.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import importX from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";

const zone = (target, from, message) => ({ target, from, message });

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "certs/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    plugins: { "import-x": importX },
    settings: { "import-x/resolver-next": [createTypeScriptImportResolver({ project: "./tsconfig.json" })] },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      "no-constant-condition": ["error", { checkLoops: false }],
      "import-x/no-restricted-paths": [
        "error",
        {
          zones: [
            zone("./src/!(cli)/**", "./src/cli", "only src/cli may import src/cli"),
            zone("./src/rules", "./src/transport", "rules never know about HTTP"),
            zone("./src/rules", "./src/admission", "rules never import the admission codec"),
            zone("./src/rules", "./src/cluster/sources", "rules read the cluster view, never a source"),
            zone("./src/rules", "./src/observability", "rules do no I/O"),
            zone("./src/providers", "./src/transport", "providers never know about HTTP"),
            zone("./src/providers", "./src/admission", "providers never import the admission codec"),
            zone("./src/providers", "./src/cluster/sources", "providers read the cluster view, never a source"),
            zone("./src/providers", "./src/observability", "providers do no I/O"),
            zone("./src/findings", "./src/!(findings|policy)/**", "findings are plain data"),
            zone("./src/transport", "./src/rules", "the transport never knows about rules"),
            zone("./src/transport", "./src/admission", "the transport is wired to the admission handler by the CLI"),
            zone("./src/transport", "./src/providers", "the transport never knows about MetalLB or kube-vip"),
            zone("./src/transport", "./src/cluster", "the transport never knows the cluster view"),
            zone("./src/transport", "./src/kubevip", "the transport never knows about kube-vip"),
            zone("./src/transport", "./src/addr", "the transport never knows about addresses"),
            zone("./src/transport", "./src/findings", "the transport never knows about findings"),
            zone("./src/transport", "./src/policy", "the transport never knows the policy"),
            zone("./src/admission", "./src/transport", "the admission codec does not depend on the transport"),
            zone("./src/cluster", "./src/admission", "the cluster view does not depend on admission"),
            zone("./src/cluster", "./src/rules", "the cluster view does not depend on rules"),
            zone("./src/addr", "./src/!(addr|k8s)/**", "the address module depends on nothing else"),
            zone("./src/k8s", "./src/!(k8s|addr)/**", "k8s helpers depend only on the address module"),
          ],
        },
      ],
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
    },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-expressions": "off",
    },
  },
);
