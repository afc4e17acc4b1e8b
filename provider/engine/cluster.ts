// Cluster: the Docker hosts a service may run on. Owns no containers; it checks the nodes answer
// and reports their inventory.
import type * as pulumi from "@pulumi/pulumi";
import { canonicalJson } from "../canonical";
import { ClusterArgs, NodeInventory } from "../model";
import { Failure, formatFailures, isUnknown, validateCluster } from "../validate";
import { storedProviderChanged } from "./storedProvider";
import { hostsFor } from "./world";
import { dockerEndpoint } from "../docker/credentials";
import { NodeConnectionError } from "../docker/faults";
import { warnFor } from "../progress";
import { NoAnswerError, noAnswer, Reach, reachVerdict, settleForPlan, settleWithin } from "../reach";

/**
 * Each node's inventory, all asked within one deadline; for a node that does not answer, the node
 * field at fault (see docker/faults.ts) and whether anything answered there (see reach.ts).
 */
async function probe(
    args: ClusterArgs,
    step: "plan" | "act",
): Promise<Array<NodeInventory & { field?: string; reason?: string; noAnswer?: boolean }>> {
    const hosts = hostsFor(args.nodes);
    const info = (n: ClusterArgs["nodes"][number]) => hosts.get(n.name)!.info();
    const infos = step === "plan" ? await settleForPlan(args.nodes, dockerEndpoint, info) : await settleWithin(args.nodes, info);
    return args.nodes.map((n, i) => {
        const info = infos[i];
        if (info.status === "fulfilled") return { name: n.name, ...info.value, reachable: true };
        const e = info.reason;
        const none = { engineVersion: "", apiVersion: "", cpus: 0, memoryBytes: 0, storageDriver: "", backingFilesystem: "" };
        const fault =
            e instanceof NodeConnectionError ? { field: e.field, reason: e.reason } : e instanceof NoAnswerError ? { reason: e.message } : {};
        return { name: n.name, ...none, reachable: false, error: e?.message ?? String(e), ...fault, noAnswer: noAnswer(e) };
    });
}

async function inventory(args: ClusterArgs): Promise<NodeInventory[]> {
    return (await probe(args, "act")).map(({ field: _f, reason: _r, noAnswer: _n, ...node }) => node);
}

/** The outputs the inputs alone say (a preview knows them); `outputs` adds what the nodes report. */
export function clusterOutputs(args: ClusterArgs) {
    // registries go out as a secret output (additionalSecretOutputs), for services to refer to.
    return { name: args.name, nodes: args.nodes.map((n) => ({ ...n, schedulable: n.schedulable !== false })), registries: args.registries ?? [] };
}

const outputs = (args: ClusterArgs, inv: NodeInventory[]) => ({ ...clusterOutputs(args), inventory: inv });

export const clusterProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        const failures: Failure[] = validateCluster(news);
        if (failures.length === 0 && Array.isArray(news.nodes)) {
            const known = (news.nodes as ClusterArgs["nodes"]).filter((n) => !isUnknown(n.docker));
            const inv = await probe({ name: news.name, nodes: known }, "plan");
            const unreached: Reach["nodes"] = [];
            inv.forEach((node, i) => {
                if (node.reachable) return;
                const reason = node.reason ?? `does not answer: ${node.error}`;
                // Not reachable from here (a runner outside the nodes' network): the rule in reach.ts decides.
                if (node.noAnswer)
                    unreached.push({ name: node.name, schedulable: known[i].schedulable !== false, error: `${dockerEndpoint(known[i])}: ${reason}` });
                // A cordoned node may be down for maintenance; every other node must answer.
                else if (known[i].schedulable !== false) {
                    const index = (news.nodes as ClusterArgs["nodes"]).indexOf(known[i]);
                    failures.push({
                        property: `nodes[${index}].${node.field ?? "docker"}`,
                        reason: `Docker on node ${node.name} (${dockerEndpoint(known[i])}): ${reason}`,
                    });
                }
            });
            const verdict = reachVerdict("plan", { nodes: unreached, slbs: [] });
            if (verdict.kind === "unknown") warnFor(`cluster ${news.name}`)(`${verdict.reason}; services on it show no plan until they answer`);
        }
        return { inputs: news, failures };
    },
    async diff(_id, olds, news) {
        const replaces = olds.name !== news.name ? ["name"] : [];
        // State written before clusters had registries lacks that output, which a preview would then
        // take as unknown in every service: an update writes it.
        const changes =
            canonicalJson(olds.nodes) !== canonicalJson(clusterOutputs(news as ClusterArgs).nodes) ||
            canonicalJson(olds.registries ?? []) !== canonicalJson(news.registries ?? []) ||
            !("registries" in olds) ||
            storedProviderChanged(olds, news);
        return { changes: changes || replaces.length > 0, replaces };
    },
    async create(inputs) {
        const args = inputs as ClusterArgs;
        const failures = validateCluster(args);
        if (failures.length) throw new Error(formatFailures(`cluster ${args.name}`, failures));
        return { id: args.name, outs: outputs(args, await inventory(args)) };
    },
    async read(id, props) {
        const args = props as ClusterArgs;
        return { id, props: outputs(args, await inventory(args)) };
    },
    async update(_id, _olds, news) {
        const args = news as ClusterArgs;
        return { outs: outputs(args, await inventory(args)) };
    },
    async delete() {
        // A cluster owns no container: services remove theirs.
    },
};
