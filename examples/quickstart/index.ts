// Entry point when the Pulumi CLI runs this directory's program (`pulumi up`).
import { quickstart } from "./program";

module.exports = quickstart();
