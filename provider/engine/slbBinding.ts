// SlbBinding: one listener and its backend pool on one load balancer. Services register their
// containers in it; the binding itself only creates and removes the listener.
import type * as pulumi from "@pulumi/pulumi";
import { canonicalJson } from "../docker/labels";
import { listenerUrlOf, SlbBindingArgs, SlbBindingState } from "../model";
import { formatFailures, isUnknown, validateSlbBinding } from "../validate";
import { driverFor } from "./world";
import { warnFor } from "../progress";
import { noAnswer, reachVerdict, settleWithin } from "../reach";

/** What the binding's outputs are for its inputs: create adds nothing the inputs do not say (a preview shows them all). */
export function slbBindingOutputs(args: SlbBindingArgs): SlbBindingState {
    return { ...args, listen: { address: args.listen.address ?? "127.0.0.1", port: args.listen.port }, url: listenerUrlOf(args.listen) };
}

export const slbBindingProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        const failures = validateSlbBinding(news);
        const reach = news.driver === "aliyun" ? news.aliyun?.loadBalancerId : news.haproxy?.adminSocket;
        if (failures.length === 0 && !isUnknown(reach) && !isUnknown(news.aliyun?.accessKeySecret)) {
            const [ping] = await settleWithin([driverFor(news as SlbBindingArgs)], (d) => d.ping());
            const e = ping.status === "rejected" ? ping.reason : undefined;
            // Not reachable from here (a runner outside the load balancer's network): the rule in reach.ts decides.
            const verdict = reachVerdict("plan", { nodes: [], slbs: e && noAnswer(e) ? [{ name: news.name, error: e?.message ?? String(e) }] : [] });
            if (verdict.kind === "unknown") warnFor(`slb binding ${news.name}`)(`${verdict.reason}; services bound to it show no plan until it answers`);
            else if (e) failures.push({ property: news.driver === "aliyun" ? "aliyun.loadBalancerId" : "haproxy.adminSocket", reason: e?.message ?? String(e) });
        }
        return { inputs: news, failures };
    },
    async diff(_id, olds, news) {
        const replaces = ["name", "driver"].filter((k) => olds[k] !== news[k]);
        if (olds.haproxy?.configPath !== news.haproxy?.configPath) replaces.push("haproxy");
        if (olds.aliyun?.loadBalancerId !== news.aliyun?.loadBalancerId || olds.aliyun?.region !== news.aliyun?.region) replaces.push("aliyun");
        // __provider is the serialized provider: it names the checkout's path, which says nothing of the binding.
        const before = canonicalJson({ ...olds, url: undefined, __provider: undefined });
        const after = canonicalJson({ ...slbBindingOutputs(news as SlbBindingArgs), url: undefined, __provider: undefined });
        // Same inputs but the listener is gone (a reset load balancer, a config cleaned by hand): the next up makes it again.
        const lost = before === after && replaces.length === 0 && !(await driverFor(news as SlbBindingArgs).hasListener(news as SlbBindingArgs).catch(() => true));
        return { changes: before !== after || replaces.length > 0 || lost, replaces, deleteBeforeReplace: true };
    },
    async create(inputs) {
        const args = inputs as SlbBindingArgs;
        const failures = validateSlbBinding(args);
        if (failures.length) throw new Error(formatFailures(`slb binding ${args.name}`, failures));
        await driverFor(args).ensureListener(args);
        return { id: `${args.driver === "aliyun" ? args.aliyun!.loadBalancerId : args.haproxy!.configPath}#${args.name}`, outs: slbBindingOutputs(args) };
    },
    async read(id, props) {
        return { id, props };
    },
    async update(_id, _olds, news) {
        const args = news as SlbBindingArgs;
        await driverFor(args).ensureListener(args);
        return { outs: slbBindingOutputs(args) };
    },
    async delete(_id, props) {
        await driverFor(props as SlbBindingArgs).removeListener(props.name);
    },
};
