// SlbBinding: one listener and its backend pool on one load balancer. Services register their
// containers in it; the binding itself only creates and removes the listener.
import type * as pulumi from "@pulumi/pulumi";
import { canonicalJson } from "../canonical";
import { mintOwnerId } from "../docker/labels";
import { listenerUrlOf, SlbBindingArgs, SlbBindingState } from "../model";
import { formatFailures, isUnknown, validateSlbBinding } from "../validate";
import { storedProviderChanged, withoutProvider } from "./storedProvider";
import { driverFor } from "./world";
import { progressFor, warnFor } from "../progress";
import { noAnswer, reachVerdict, settleWithin } from "../reach";

/** What the load balancer keeps of the binding (HAProxy writes it into its section): the inputs, not the serialized provider. */
const listenerArgs = (args: SlbBindingArgs): SlbBindingArgs => withoutProvider({ ...args, stack: undefined });

/** What the binding's outputs are for its inputs: create adds nothing the inputs do not say (a preview shows them all). */
export function slbBindingOutputs(args: SlbBindingArgs): SlbBindingState {
    return { ...args, listen: { address: args.listen.address ?? "127.0.0.1", port: args.listen.port }, url: listenerUrlOf(args.listen) };
}

export const slbBindingProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        const failures = validateSlbBinding(news);
        const reach = news.driver === "aliyun" ? news.aliyun?.loadBalancerId : news.haproxy?.adminSocket;
        if (failures.length === 0 && !isUnknown(reach) && !isUnknown(news.aliyun?.accessKeySecret)) {
            const driver = driverFor(news as SlbBindingArgs);
            const [ping] = await settleWithin([driver], (d) => d.ping());
            const e = ping.status === "rejected" ? ping.reason : undefined;
            // Not reachable from here (a runner outside the load balancer's network): the rule in reach.ts decides.
            const verdict = reachVerdict("plan", { nodes: [], slbs: e && noAnswer(e) ? [{ name: news.name, error: e?.message ?? String(e) }] : [] });
            if (verdict.kind === "unknown")
                warnFor(`slb binding ${news.name}`)(`${verdict.reason}; services bound to it show no plan until it answers`);
            else if (e)
                failures.push({
                    property: e.field ?? (news.driver === "aliyun" ? "aliyun.loadBalancerId" : "haproxy.adminSocket"),
                    reason: e?.message ?? String(e),
                });
            else if (!isUnknown(news.listen)) {
                const clash = await driver.listenerClash(news as SlbBindingArgs, news.stack);
                if (clash) failures.push(clash);
            }
        }
        return { inputs: news, failures };
    },
    async diff(_id, olds, news) {
        const replaces = ["name", "driver"].filter((k) => olds[k] !== news[k]);
        if (olds.haproxy?.configPath !== news.haproxy?.configPath) replaces.push("haproxy");
        if (olds.aliyun?.loadBalancerId !== news.aliyun?.loadBalancerId || olds.aliyun?.region !== news.aliyun?.region) replaces.push("aliyun");
        const before = canonicalJson({ ...withoutProvider(olds), url: undefined, ownerId: undefined });
        const after = canonicalJson({ ...withoutProvider(slbBindingOutputs(news as SlbBindingArgs)), url: undefined });
        // Same inputs but the listener is gone (a reset load balancer, a config cleaned by hand): the next up makes it again.
        const lost =
            before === after &&
            replaces.length === 0 &&
            !(await driverFor(news as SlbBindingArgs)
                .hasListener(news as SlbBindingArgs)
                .catch(() => true));
        return { changes: before !== after || replaces.length > 0 || lost || storedProviderChanged(olds, news), replaces, deleteBeforeReplace: true };
    },
    async create(inputs) {
        const args = inputs as SlbBindingArgs;
        const failures = validateSlbBinding(args);
        if (failures.length) throw new Error(formatFailures(`slb binding ${args.name}`, failures));
        const ownerId = mintOwnerId();
        await driverFor(args).ensureListener(listenerArgs(args), { stack: args.stack, ownerId });
        return {
            id: `${args.driver === "aliyun" ? args.aliyun!.loadBalancerId : args.haproxy!.configPath}#${args.name}`,
            outs: { ...slbBindingOutputs(args), ownerId },
        };
    },
    async read(id, props) {
        return { id, props };
    },
    async update(_id, olds, news) {
        const args = news as SlbBindingArgs;
        // A listener made before owners is adopted by the binding whose state it is.
        const ownerId = olds.ownerId ?? mintOwnerId();
        await driverFor(args).ensureListener(listenerArgs(args), { stack: args.stack, ownerId });
        return { outs: { ...slbBindingOutputs(args), ownerId } };
    },
    async delete(_id, props) {
        const state = props as SlbBindingState;
        const kept = await driverFor(state).removeListener(state.name, state.ownerId ? { stack: state.stack, ownerId: state.ownerId } : undefined);
        if (kept) progressFor(`binding ${state.name}`)(kept);
    },
};
