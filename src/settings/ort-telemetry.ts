/**
 * ONNX Runtime 1.29 reports usage telemetry from Linux and macOS (and leaves `mat-debug-<pid>.log` and
 * `.ses` files in the temp folder) unless `ORT_DISABLE_TELEMETRY` is set when its first session is
 * created. A worker running tenants' models should not phone home unasked, so gen-worker sets it to 1
 * before creating any session; a value already set, `0` included, is left as it is.
 */
export function keepOrtTelemetryOff(env: Record<string, string | undefined> = process.env): void {
  if (env.ORT_DISABLE_TELEMETRY === undefined || env.ORT_DISABLE_TELEMETRY === "")
    env.ORT_DISABLE_TELEMETRY = "1";
}
