/**
 * Container image references: which ones are kube-vip (docs/controllers.md K9) and which
 * kube-vip version they run.
 */

export interface ImageRef {
  /** registry and path, without tag or digest */
  repository: string;
  /** last path element of the repository */
  name: string;
  tag?: string;
  digest?: string;
}

export type Version = [number, number, number];

export function parseImage(image: string): ImageRef {
  let rest = image.trim();
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const name = rest.slice(rest.lastIndexOf("/") + 1).toLowerCase();
  return { repository: rest, name, tag, digest };
}

/**
 * `kube-vip` for the kube-vip manager (also `kube-vip-iptables` and Rancher's
 * `mirrored-kube-vip-kube-vip*` mirrors), `cloud-provider` for
 * kube-vip-cloud-provider, undefined otherwise.
 */
export function kubeVipImageKind(image: string | undefined): "kube-vip" | "cloud-provider" | undefined {
  if (typeof image !== "string" || !image) return undefined;
  return imageKindOf(parseImage(image));
}

export function imageKindOf(ref: ImageRef): "kube-vip" | "cloud-provider" | undefined {
  const { name } = ref;
  if (name === "kube-vip-cloud-provider" || name === "mirrored-kube-vip-kube-vip-cloud-provider")
    return "cloud-provider";
  if (name === "kube-vip" || name === "kube-vip-iptables") return "kube-vip";
  if (name.startsWith("mirrored-kube-vip-kube-vip")) return "kube-vip";
  return undefined;
}

/**
 * The version an image tag names; undefined when the tag names none
 * (untagged, `latest`, a branch) or the image is pinned by digest
 * (`repo:tag@sha256:…` runs the digest, the tag is only a label:
 * docs/controllers.md S3, V3): such images count as the newest.
 */
export function imageVersion(ref: ImageRef): Version | undefined {
  if (!ref.tag || ref.digest) return undefined;
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(ref.tag);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/** a < b */
export function versionBefore(a: Version | undefined, b: Version): boolean {
  if (!a) return false; // newest
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

export function formatVersion(v: Version | undefined): string {
  return v ? `v${v[0]}.${v[1]}.${v[2]}` : "latest";
}
