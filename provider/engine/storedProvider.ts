// Pulumi keeps a dynamic resource's serialized provider beside its inputs and outputs, and runs the
// stored one to delete the resource or read it. State written before engines were loaded by package
// name holds a provider that loads them from the checkout that ran `up`: an update rewrites it.

const PROVIDER_KEY = "__provider";

/** Whether the state holds another serialized provider than the program gives now (the plugin has none). */
export function storedProviderChanged(olds: Record<string, unknown>, news: Record<string, unknown>): boolean {
    const [stored, given] = [olds[PROVIDER_KEY], news[PROVIDER_KEY]];
    return typeof stored === "string" && typeof given === "string" && stored !== given;
}

/** The inputs or outputs without the serialized provider, for comparisons of what the resource is. */
export function withoutProvider<T extends object>(props: T): T {
    const { [PROVIDER_KEY]: _, ...rest } = props as Record<string, unknown>;
    return rest as T;
}
