/**
 * The OwnershipPolicy document (README: Policy), validated strictly: unknown fields
 * are errors so a typo never silently weakens the policy.
 */
import { z } from "zod";

export const POLICY_API_VERSION = "lbguard.dev/v1alpha1";
export const PROVIDERS = ["metallb", "kube-vip"] as const;
export type ProviderName = (typeof PROVIDERS)[number];
export const FAMILIES = ["services", "foreignWrites", "pools", "kubeVip", "mirrorPods", "namespaces"] as const;
export type RuleFamily = (typeof FAMILIES)[number];
/**
 * Per rule family: `deny`; `warn` (allowed, the message as an admission
 * warning); `audit` (allowed silently, the finding recorded in the answer's
 * auditAnnotations, the info log and the metrics: the shadow mode for rolling
 * out); `off` (the family is skipped).
 */
export const ENFORCEMENTS = ["deny", "warn", "audit", "off"] as const;
export type Enforcement = (typeof ENFORCEMENTS)[number];

const providerName = z.enum(PROVIDERS);
const enforcement = z.enum(ENFORCEMENTS);

const selector = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: z.string().min(1),
        operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});

// loadBalancerClass is required and may be null: `.nullable()` without
// `.optional()` makes a missing key an error.
const metallbProvider = z.strictObject({
  loadBalancerClass: z.string().min(1).nullable(),
  namespace: z.string().min(1).default("metallb-system"),
  identities: z.array(z.string().min(1)).default([]),
});

const kubeVipProvider = z.strictObject({
  loadBalancerClass: z.string().min(1).nullable(),
  namespace: z.string().min(1).default("kube-system"),
  configMap: z.string().min(1).default("kube-system/kubevip"),
  identities: z.array(z.string().min(1)).default([]),
  controlPlaneVIPs: z.array(z.string().min(1)).default([]),
});

export const policySchema = z.strictObject({
  apiVersion: z.literal(POLICY_API_VERSION),
  kind: z.literal("OwnershipPolicy"),
  metadata: z
    .strictObject({
      name: z.string().min(1),
      labels: z.record(z.string(), z.string()).optional(),
      annotations: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  spec: z.strictObject({
    providers: z.strictObject({
      metallb: metallbProvider.optional(),
      "kube-vip": kubeVipProvider.optional(),
    }),
    defaultProvider: providerName,
    namespaces: z
      .array(
        z.strictObject({
          names: z.array(z.string().min(1)).optional(),
          selector: selector.optional(),
          provider: providerName,
          allowedProviders: z.array(providerName).optional(),
        }),
      )
      .default([]),
    reservedAddresses: z.array(z.string().min(1)).default([]),
    exemptions: z
      .array(
        z.strictObject({
          namespace: z.string().min(1),
          name: z.string().min(1),
          kind: z.enum(["Pod", "DaemonSet", "Deployment", "StatefulSet"]).optional(),
        }),
      )
      .default([]),
    /** who may change the labels that decide a namespace's provider: usernames and `group:NAME` (§7.6) */
    namespaceAdmins: z.array(z.string().min(1)).default(["group:system:masters"]),
    enforcement: z
      .strictObject({
        services: enforcement.default("deny"),
        foreignWrites: enforcement.default("deny"),
        pools: enforcement.default("deny"),
        kubeVip: enforcement.default("deny"),
        mirrorPods: enforcement.default("warn"),
        namespaces: enforcement.default("deny"),
      })
      .default({
        services: "deny",
        foreignWrites: "deny",
        pools: "deny",
        kubeVip: "deny",
        mirrorPods: "warn",
        namespaces: "deny",
      }),
    failureMode: z.enum(["closed", "open"]).default("closed"),
  }),
});

export type PolicyDocument = z.infer<typeof policySchema>;
