import fc from "fast-check";

const lowerAlnum = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"),
  minLength: 1,
  maxLength: 8,
});
const label = fc
  .tuple(lowerAlnum, fc.option(lowerAlnum, { nil: undefined }))
  .map(([a, b]) => (b === undefined ? a : `${a}-${b}`));
const hostname = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.constantFrom("com", "org", "io", "dev"))
  .map(([labels, tld]) => [...labels, tld].join("."));
const instant = fc.date({
  min: new Date("1970-01-01T00:00:00.000Z"),
  max: new Date("2199-12-31T23:59:59.999Z"),
  noInvalidDate: true,
});
const url = fc
  .tuple(fc.constantFrom("http", "https"), hostname, fc.array(lowerAlnum, { maxLength: 3 }))
  .map(([scheme, host, path]) => `${scheme}://${host}/${path.join("/")}`);
const pointer = fc
  .array(lowerAlnum, { maxLength: 3 })
  .map((parts) => parts.map((part) => `/${part}`).join(""));

/** Values of the `@format`s ajv-formats checks (the ones discovery accepts), by format. */
const FORMATS: Record<string, fc.Arbitrary<string>> = {
  "date-time": fc.oneof(
    instant.map((d) => d.toISOString()),
    fc
      .tuple(instant, fc.constantFrom("+00:00", "+05:30", "-08:00"))
      .map(([d, offset]) => `${d.toISOString().slice(0, 19)}${offset}`),
  ),
  "iso-date-time": instant.map((d) => d.toISOString()),
  date: instant.map((d) => d.toISOString().slice(0, 10)),
  time: instant.map((d) => `${d.toISOString().slice(11, 19)}Z`),
  "iso-time": instant.map((d) => `${d.toISOString().slice(11, 19)}Z`),
  duration: fc
    .tuple(fc.nat({ max: 30 }), fc.nat({ max: 23 }), fc.nat({ max: 59 }))
    .map(([d, h, m]) => `P${d}DT${h}H${m}M`),
  email: fc
    .tuple(fc.array(lowerAlnum, { minLength: 1, maxLength: 2 }), hostname)
    .map(([local, host]) => `${local.join(".")}@${host}`),
  uri: url,
  url,
  "uri-reference": fc.oneof(
    url,
    pointer.map((path) => path || "/"),
  ),
  "uri-template": url.map((u) => `${u}{id}`),
  hostname,
  ipv4: fc.ipV4(),
  ipv6: fc.ipV6(),
  uuid: fc.uuid(),
  regex: fc.constantFrom("^a+$", ".*", "[0-9]{2,4}", "(x|y)z?"),
  "json-pointer": pointer,
  "json-pointer-uri-fragment": pointer.map((path) => `#${path}`),
  "relative-json-pointer": fc.tuple(fc.nat({ max: 9 }), pointer).map(([up, path]) => `${up}${path}`),
  byte: fc.base64String({ maxLength: 64 }),
};

/** Strings of a `format`; undefined for formats that constrain numbers only (any string passes). */
export function formatStrings(format: string): fc.Arbitrary<string> | undefined {
  return FORMATS[format];
}
