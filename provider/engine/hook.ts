// PostStartHook: a command run after a service's release, once its containers are healthy: in the
// service's first container (docker exec) or in a one-off container. It runs again whenever the
// service's revision changes. A failing hook rolls the service back to the revision the last
// successful hook ran for (the same release machinery, in reverse: serviceProvider.update with
// the previous inputs), or removes its containers on a first deploy, and fails: resources that
// depend on the hook (the next services of a ServiceGroup) are then not released.
import type * as pulumi from "@pulumi/pulumi";
import { canonicalJson } from "../canonical";
import { ownerLabels } from "../docker/labels";
import { CommandResult, CommandRunner, DockerCommands } from "../docker/commands";
import { ContainerState, NodeSpec, ServiceArgs, ServiceState } from "../model";
import { progressFor } from "../progress";
import { isServing } from "../rollout/plan";
import { Failure, formatFailures, isUnknown } from "../validate";
import { ownerFrom } from "./release/owner";
import { listContainers } from "./release/observe";
import { serviceProvider } from "./service";
import { hostsFor, nodeViews } from "./world";

/** firstContainer: docker exec in the service's first healthy container; oneOff: a new container, removed after. */
export type HookRunIn = "firstContainer" | "oneOff";

export interface PostStartHookSpec {
    /** Command (and arguments) to run; exit 0 means success. */
    command: string[];
    /** firstContainer (default): docker exec in the service's first healthy container; oneOff: a new container, removed after. */
    runIn?: HookRunIn;
    /** Image of the one-off container. Default: the service's image. */
    image?: string;
    /** Environment of the command. */
    env?: Record<string, string>;
    /** Seconds the command may take. Default 60. */
    timeoutSeconds?: number;
}

/** A hooked service's inputs, its name filled in: what a rollback releases again. */
export interface HookedServiceArgs extends Omit<ServiceArgs, "plannedChange" | "plannedCounts"> {}

/** A command run in (or beside) a service's first serving container after each release; a failure rolls the service back. */
export interface PostStartHookArgs extends PostStartHookSpec {
    /** The service's inputs, its name filled in (a rollback releases them again). */
    serviceArgs: HookedServiceArgs;
    /** The service's revision: the hook runs again when it changes. */
    revision: string;
    /** The service's containers, as its outputs say. */
    containers: ContainerState[];
    /** The service's owner id: the hook runs in its containers only, never in another stack's of the same name. */
    ownerId?: string;
}

export interface PostStartHookState extends PostStartHookArgs {
    /** The command's output (the last 4000 characters) the last time it ran. */
    output: string;
}

const DEFAULT_TIMEOUT_SECONDS = 60;
/** Inputs whose change runs the hook again. */
const RUN_AGAIN = ["revision", "command", "runIn", "image", "env"] as const;

/** Seam for tests: where commands run. */
export const runners = { for: (node: NodeSpec): CommandRunner => new DockerCommands(node) };

export function validateHook(args: Partial<PostStartHookArgs>): Failure[] {
    const failures: Failure[] = [];
    if (!Array.isArray(args.command) || args.command.length === 0)
        failures.push({ property: "command", reason: "must be a non-empty list of strings" });
    if (args.runIn !== undefined && !isUnknown(args.runIn) && !["firstContainer", "oneOff"].includes(args.runIn)) {
        failures.push({ property: "runIn", reason: `must be firstContainer or oneOff, got ${JSON.stringify(args.runIn)}` });
    }
    const t = args.timeoutSeconds;
    if (t !== undefined && !isUnknown(t) && !(typeof t === "number" && t > 0))
        failures.push({ property: "timeoutSeconds", reason: `must be a number above 0, got ${JSON.stringify(t)}` });
    return failures;
}

/** The container a hook runs in (or beside): the lowest slot of the current revision that serves. */
export function firstContainer(revision: string, containers: ContainerState[]): ContainerState | undefined {
    return containers.filter((c) => c.revision === revision && isServing(c)).sort((a, b) => a.slot - b.slot)[0];
}

const serviceId = (a: HookedServiceArgs) => `${a.cluster.name}/${a.name}`;
const recorded = (args: PostStartHookArgs, containers: ContainerState[]): ServiceState => ({
    ...args.serviceArgs,
    ownerId: args.ownerId,
    imageDigest: "",
    revision: args.revision,
    containers,
    backends: {},
    lastRelease: [],
});

/**
 * The containers of the revision the service's outputs name, as they really run. A failed hook
 * rolled the service back behind Pulumi's back (its outputs still name the new revision): then the
 * new revision is released again first, so that the hook gates it again.
 */
async function currentContainers(args: PostStartHookArgs, progress: (l: string) => void): Promise<ContainerState[]> {
    const service = args.serviceArgs;
    const hosts = hostsFor(service.cluster.nodes);
    // A node that does not answer is left out (as a release leaves it out); any other error surfaces.
    const { reachable } = await nodeViews(service.cluster.nodes, hosts);
    const running = await listContainers(service, ownerFrom(service, args.ownerId, args.containers), hosts, reachable);
    if (firstContainer(args.revision, running)) return running;
    progress(`revision ${args.revision} of ${service.name} is not running (rolled back after a failed hook?): releasing it again`);
    const result = await serviceProvider.update!(serviceId(service), recorded(args, running), service);
    return (result.outs as ServiceState).containers;
}

async function runHook(args: PostStartHookArgs, progress: (l: string) => void): Promise<CommandResult> {
    const first = firstContainer(args.revision, await currentContainers(args, progress));
    if (!first) throw new Error(`service ${args.serviceArgs.name} has no serving container of revision ${args.revision} to run the hook in`);
    const node = args.serviceArgs.cluster.nodes.find((n) => n.name === first.node);
    if (!node) throw new Error(`node ${first.node} of ${first.name} is not in the cluster`);
    const runner = runners.for(node);
    const timeout = args.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    if (args.runIn === "oneOff") {
        const image = args.image ?? args.serviceArgs.image;
        await hostsFor([node]).get(node.name)!.ensureImage(image, progress);
        progress(`post-start hook: running ${JSON.stringify(args.command)} in a one-off container of ${image} on ${node.name}`);
        return runner.runOnce(image, args.command, args.env ?? {}, timeout, ownerLabels(first.stack, first.owner));
    }
    progress(`post-start hook: running ${JSON.stringify(args.command)} in ${first.name} on ${node.name}`);
    return runner.execIn(first.id, args.command, args.env ?? {}, timeout);
}

/** Runs the hook; on failure rolls the service back to `previous` (or removes it) and throws. */
async function runOrRollBack(args: PostStartHookArgs, previous: PostStartHookArgs | undefined): Promise<string> {
    const service = args.serviceArgs;
    const progress = progressFor(service.name);
    let result: CommandResult;
    try {
        result = await runHook(args, progress);
    } catch (e: any) {
        result = { exitCode: -1, output: e?.message ?? String(e) };
    }
    const output = result.output.slice(-4000);
    if (result.exitCode === 0) {
        progress(`post-start hook succeeded`);
        return output;
    }
    const why = `post-start hook of ${service.name} failed (exit ${result.exitCode}): ${output.trim().split("\n").slice(-5).join(" | ")}`;
    progress(why);
    const current = recorded(args, args.containers);
    if (previous) {
        progress(`rolling ${service.name} back to revision ${previous.revision}`);
        await serviceProvider.update!(serviceId(service), current, previous.serviceArgs);
        throw new Error(`${why}; rolled ${service.name} back to revision ${previous.revision}`);
    }
    progress(`first deploy of ${service.name}: removing its containers`);
    await serviceProvider.delete!(serviceId(service), current);
    throw new Error(`${why}; removed the containers of ${service.name} (first deploy)`);
}

export const hookProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        return { inputs: news, failures: validateHook(news) };
    },
    async diff(_id, olds, news) {
        const changed = canonicalJson({ ...olds, output: undefined }) !== canonicalJson(news);
        return { changes: changed };
    },
    async create(inputs) {
        const args = inputs as PostStartHookArgs;
        const failures = validateHook(args);
        if (failures.length) throw new Error(formatFailures(`post-start hook of ${args.serviceArgs?.name}`, failures));
        return { id: `${serviceId(args.serviceArgs)}/post-start`, outs: { ...args, output: await runOrRollBack(args, undefined) } };
    },
    async update(_id, olds, news) {
        const args = news as PostStartHookArgs;
        const previous = olds as PostStartHookState;
        const again = RUN_AGAIN.some((k) => canonicalJson(previous[k] ?? null) !== canonicalJson(args[k] ?? null));
        return { outs: { ...args, output: again ? await runOrRollBack(args, previous) : previous.output } };
    },
    async delete() {
        // A hook leaves nothing behind: its one-off container is removed when it ends.
    },
};
