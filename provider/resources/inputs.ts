// Input types of the TypeScript resources and components: plain data whose every value may be a Pulumi input.
import * as pulumi from "@pulumi/pulumi";

/** T with every value, however deep, a Pulumi input (what programs pass, and what construct receives). */
export type DeepInput<T> = [T] extends [string | number | boolean | undefined | null]
    ? pulumi.Input<T>
    : T extends Array<infer U>
      ? pulumi.Input<Array<DeepInput<U>>>
      : T extends object
        ? pulumi.Input<{ [K in keyof T]: DeepInput<T[K]> }>
        : T;
export type Inputs<T> = { [K in keyof T]: DeepInput<T[K]> };
