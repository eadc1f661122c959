/**
 * The cluster stories are what `kubectl get -o yaml --show-managed-fields`
 * prints: a v1 List whose items validate against the Kubernetes schemas
 * (kubernetes-models; MetalLB's pools have none there).
 */
import { expect } from "chai";
import * as apps from "kubernetes-models/apps/v1";
import * as coordination from "kubernetes-models/coordination.k8s.io/v1";
import * as core from "kubernetes-models/v1";
import { readFileSync } from "node:fs";
import YAML from "yaml";
import { Obj, story, STORIES } from "./helpers.js";

const MODELS: Record<string, Record<string, any>> = {
  v1: core,
  "apps/v1": apps,
  "coordination.k8s.io/v1": coordination,
};

describe("audit: the cluster stories are kubectl's output", () => {
  for (const s of STORIES)
    it(s, () => {
      const doc = YAML.parse(readFileSync(story(s), "utf8"));
      expect(doc).to.deep.include({ apiVersion: "v1", kind: "List", metadata: { resourceVersion: "" } });
      const kinds = new Set<string>();
      for (const o of doc.items as Obj[]) {
        kinds.add(o.kind);
        expect(o.metadata.uid, `${o.kind} ${o.metadata.name} has a uid`).to.be.a("string");
        if (o.apiVersion === "metallb.io/v1beta1") continue;
        const Model = MODELS[o.apiVersion]?.[o.kind];
        expect(Model, `a schema for ${o.apiVersion} ${o.kind}`).to.not.equal(undefined);
        new Model(o).validate();
      }
      expect(kinds.has("Service") && kinds.has("Node") && kinds.has("Lease"), "Services, Nodes, Leases").to.equal(true);
    });
});
