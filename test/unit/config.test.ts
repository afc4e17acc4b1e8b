import * as assert from "node:assert/strict";
import { aliyunWithDefaults, readConfig, releaseWithDefaults, withConfigDefaults } from "../../provider/config";

describe("the stack's berth: configuration", () => {
    const keys = (values: Record<string, string>) => (key: string) => values[key];

    it("reads each key, the region from the environment when unset, and never stores the environment's access key", () => {
        const env = { ALIBABA_CLOUD_REGION_ID: "cn-shanghai", ALIBABA_CLOUD_ACCESS_KEY_ID: "env-id", ALIBABA_CLOUD_ACCESS_KEY_SECRET: "env-secret" };
        assert.deepEqual(readConfig(keys({}), env), { aliyunRegion: "cn-shanghai" });
        assert.deepEqual(
            readConfig(
                keys({ aliyunRegion: "cn-hangzhou", aliyunAccessKeyId: "id", aliyunAccessKeySecret: "s", release: '{"drainTimeoutSeconds":7}' }),
                env,
            ),
            {
                aliyunRegion: "cn-hangzhou",
                aliyunAccessKeyId: "id",
                aliyunAccessKeySecret: "s",
                release: { drainTimeoutSeconds: 7 },
            },
        );
    });

    it("names the key when berth:release is not a JSON object", () => {
        assert.throws(() => readConfig(keys({ release: "7" }), {}), /berth:release must be a JSON object of release settings, got 7/);
        assert.throws(() => readConfig(keys({ release: "{drain" }), {}), /berth:release must be a JSON object of release settings: /);
    });

    it("is a default: what a resource sets wins, field by field", () => {
        const config = {
            release: { drainTimeoutSeconds: 7, pauseSeconds: 2 },
            aliyunRegion: "cn-hangzhou",
            aliyunAccessKeyId: "id",
            aliyunAccessKeySecret: "s",
        };
        assert.deepEqual(releaseWithDefaults({ pauseSeconds: 0 }, config), { drainTimeoutSeconds: 7, pauseSeconds: 0 });
        assert.equal(releaseWithDefaults(undefined, {}), undefined);
        assert.deepEqual(aliyunWithDefaults({ loadBalancerId: "lb-1" }, config), {
            loadBalancerId: "lb-1",
            region: "cn-hangzhou",
            accessKeyId: "id",
            accessKeySecret: "s",
        });
        const own = { loadBalancerId: "lb-1", region: "cn-beijing", accessKeyId: "mine" };
        assert.deepEqual(aliyunWithDefaults(own, config), own, "a binding's own key is never mixed with the stack's secret");
        assert.deepEqual(
            aliyunWithDefaults({ loadBalancerId: "lb-1" }, {}),
            { loadBalancerId: "lb-1" },
            "nothing set: nothing added (a Struct holds no undefined)",
        );
    });

    it("reaches the plugin's Service and Aliyun SlbBinding inputs only", () => {
        const config = { release: { drainTimeoutSeconds: 7 }, aliyunRegion: "cn-hangzhou" };
        assert.deepEqual(withConfigDefaults("berth:index:Service", { name: "web" }, config), { name: "web", release: { drainTimeoutSeconds: 7 } });
        assert.deepEqual(withConfigDefaults("berth:index:SlbBinding", { driver: "aliyun", aliyun: { loadBalancerId: "lb" } }, config).aliyun, {
            loadBalancerId: "lb",
            region: "cn-hangzhou",
        });
        assert.deepEqual(withConfigDefaults("berth:index:SlbBinding", { driver: "haproxy", haproxy: {} }, config), {
            driver: "haproxy",
            haproxy: {},
        });
        assert.deepEqual(withConfigDefaults("berth:index:Cluster", { name: "c" }, config), { name: "c" });
    });
});
