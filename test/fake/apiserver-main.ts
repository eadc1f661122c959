/**
 * The fake API server as its own process (benchmarks measure lbguard's memory
 * without the server's):
 *   node dist/test/fake/apiserver-main.js --generate full|quick [--pods N] [--kube-vip-pods K] [--port N] [--crds wgpolicyk8s|openreports]
 * prints `fake-apiserver listening on <port> with <n> objects`. `--pods N`
 * adds N Pods across the generated namespaces, K of them (10 unless told)
 * running kube-vip (bench/pods.ts).
 */
import { FULL, QUICK, generate } from "../../bench/generate.js";
import { generatePods } from "../../bench/pods.js";
import { FakeApiServer, REPORT_CRDS } from "./apiserver.js";

const arg = (n: string) => {
  const i = process.argv.indexOf(`--${n}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};

const server = new FakeApiServer(false);
// the report CRDs "installed" (the background audit then writes its reports here)
const crds = arg("crds");
if (crds === "wgpolicyk8s" || crds === "openreports") for (const c of REPORT_CRDS[crds]) server.crds.add(c);
const size = arg("generate");
let n = 0;
if (size) {
  const sizes = size === "full" ? FULL : QUICK;
  const objs = [...generate(sizes)];
  n = objs.length;
  server.load(objs);
  const pods = Number(arg("pods") ?? 0);
  if (pods > 0) {
    server.load(generatePods({ pods, kubeVip: Number(arg("kube-vip-pods") ?? 10), namespaces: sizes.namespaces }));
    n += pods;
  }
}
server.start(Number(arg("port") ?? 0)).then((port) => {
  process.stdout.write(`fake-apiserver listening on ${port} with ${n} objects\n`);
});
process.on("SIGTERM", () => server.stop().then(() => process.exit(0)));
