// Pure rendering and editing of the HAProxy configuration sections berth manages. Runtime API
// changes are lost on reload, so every change is also written here.
import { DEFAULTS, SlbBindingArgs } from "../model";
import { Backend, clashAmong, ListenerClash, ListenerOwner } from "./driver";

export interface PersistedServer extends Backend {
    weight: number;
}

const begin = (name: string) => `# berth:begin ${name}`;
const end = (name: string) => `# berth:end ${name}`;

/** The options each server is added with, at runtime and in the file alike. */
export function serverOptions(binding: SlbBindingArgs): string {
    const h = binding.healthCheck ?? {};
    return `check inter ${h.intervalMs ?? DEFAULTS.lbCheckIntervalMs} rise ${h.rise ?? DEFAULTS.lbRise} fall ${h.fall ?? DEFAULTS.lbFall}`;
}

export function serverLine(binding: SlbBindingArgs, s: PersistedServer): string {
    return `    server ${s.name} ${s.address}:${s.port} weight ${s.weight} ${serverOptions(binding)}`;
}

export function renderSection(binding: SlbBindingArgs, servers: PersistedServer[], owner?: ListenerOwner): string {
    const lines = [
        begin(binding.name),
        `# binding ${JSON.stringify(binding)}`,
        ...(owner ? [`# owner ${JSON.stringify(owner)}`] : []),
        `frontend ${binding.name}`,
        `    bind ${binding.listen.address ?? "127.0.0.1"}:${binding.listen.port}`,
        // Explicit, not from the defaults section: tcp forwards connections (sessions are connections), http requests.
        `    mode ${binding.protocol ?? "http"}`,
        `    default_backend ${binding.name}`,
        `backend ${binding.name}`,
        `    mode ${binding.protocol ?? "http"}`,
        // Dynamic servers need a dynamic algorithm.
        `    balance roundrobin`,
        // A request whose connection fails before any answer (its container gone: OOM, a Docker
        // restart, a host reboot) is retried on another server instead of failing (HTTP mode).
        `    retries 3`,
        `    option redispatch 1`,
        `    retry-on conn-failure empty-response`,
        ...(binding.healthCheck?.httpPath ? [`    option httpchk GET ${binding.healthCheck.httpPath}`, `    http-check expect status 200`] : []),
        ...servers.map((s) => serverLine(binding, s)),
        end(binding.name),
    ];
    return lines.join("\n") + "\n";
}

function sectionBounds(config: string, name: string): [number, number] | undefined {
    const start = config.indexOf(begin(name) + "\n");
    if (start < 0) return undefined;
    const stop = config.indexOf(end(name) + "\n", start);
    if (stop < 0) throw new Error(`haproxy config: section ${name} has no end marker`);
    return [start, stop + end(name).length + 1];
}

export function readSection(
    config: string,
    name: string,
): { binding: SlbBindingArgs; servers: PersistedServer[]; owner?: ListenerOwner } | undefined {
    const bounds = sectionBounds(config, name);
    if (!bounds) return undefined;
    const text = config.slice(bounds[0], bounds[1]);
    const binding = JSON.parse(/^# binding (.*)$/m.exec(text)?.[1] ?? "null") as SlbBindingArgs;
    const servers = [...text.matchAll(/^\s+server (\S+) (\S+):(\d+) weight (\d+)/gm)].map((m) => ({
        name: m[1],
        address: m[2],
        port: Number(m[3]),
        weight: Number(m[4]),
    }));
    const owner = /^# owner (.*)$/m.exec(text)?.[1];
    return { binding, servers, ...(owner ? { owner: JSON.parse(owner) as ListenerOwner } : {}) };
}

const sectionNames = (config: string) => [...config.matchAll(/^# berth:begin (\S+)$/gm)].map((m) => m[1]);
const listenOf = (b: SlbBindingArgs) => `${b.listen.address ?? "127.0.0.1"}:${b.listen.port}`;

/**
 * Why `binding` cannot be this stack's listener here: its name is another stack's section, or
 * another section listens on its address and port (HAProxy would bind both and split the connections).
 */
export function listenerClash(config: string, binding: SlbBindingArgs, stack: string | undefined): ListenerClash | undefined {
    const sections = sectionNames(config).map((name) => {
        const { binding: b, owner } = readSection(config, name)!;
        return { name, listen: listenOf(b), owner };
    });
    return clashAmong(sections, { name: binding.name, listen: listenOf(binding) }, stack);
}

/** Replaces (or appends, or with `section` null removes) one managed section. */
export function writeSection(config: string, name: string, section: string | null): string {
    const bounds = sectionBounds(config, name);
    const body = config.endsWith("\n") || config === "" ? config : config + "\n";
    if (!bounds) return section ? body + section : body;
    return config.slice(0, bounds[0]) + (section ?? "") + config.slice(bounds[1]);
}
