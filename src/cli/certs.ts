/** `lbguard certs`: create or reuse (idempotently) a CA and a serving certificate, store them, patch caBundle. */
import { loadKubeConfig } from "../k8s/api.js";
import { plan, serviceNames } from "../certs/plan.js";
import { patchCABundle, readDir, readSecret, writeDir, writeSecret } from "../certs/store.js";

export interface CertsOptions {
  namespace: string;
  service: string;
  secret?: string;
  webhookConfig: string[];
  out?: string;
  kubeconfig?: string;
  caDays: number;
  certDays: number;
}

export async function certsMain(o: CertsOptions): Promise<number> {
  const say = (s: string) => process.stdout.write(s + "\n");
  const dnsNames = serviceNames(o.service, o.namespace);
  const needsCluster = !o.out || o.webhookConfig.length > 0;
  const kc = needsCluster ? loadKubeConfig(o.kubeconfig) : undefined;
  const secretRef = { namespace: o.namespace, name: o.secret ?? `${o.service}-tls` };
  const existing = o.out ? { material: readDir(o.out), resourceVersion: undefined } : await readSecret(kc!, secretRef);
  const p = plan(existing.material, { dnsNames, caDays: o.caDays, certDays: o.certDays });
  for (const a of p.actions) say(a);
  if (o.out) {
    if (p.changed) writeDir(o.out, p.material);
    say(`${o.out}: ${p.changed ? "written" : "unchanged"}`);
  } else if (p.changed) {
    say(
      `Secret ${secretRef.namespace}/${secretRef.name}: ${await writeSecret(kc!, secretRef, p.material, existing.resourceVersion)}`,
    );
  } else say(`Secret ${secretRef.namespace}/${secretRef.name}: unchanged`);
  for (const name of o.webhookConfig) for (const line of await patchCABundle(kc!, name, p.caBundle)) say(line);
  say(`serving certificate valid until ${p.notAfter.toISOString()}`);
  return 0;
}
