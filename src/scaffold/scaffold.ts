import { constants } from "node:fs";
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { UserError } from "../contract/user-errors.js";
import { TEMPLATES_DIR } from "../host/package.js";

/** A template's own description, in `<template>/template.json` (not copied into projects). */
const TEMPLATE_INFO_FILE = "template.json";

export interface TemplateInfo {
  name: string;
  description: string;
  /** Commands to try once the dev runner is up, shown in the next steps. */
  try: string[];
}

/** Why a scaffold could not be made; a bad template name or folder argument exits 2. */
export class ScaffoldError extends UserError {
  constructor(message: string, kind: "usage" | "failure") {
    super(message, { exitCode: kind === "usage" ? 2 : 1 });
  }
}

/** The project templates: folders of TEMPLATES_DIR holding a cozy.toml, sorted by name. */
export async function listTemplates(templatesDir = TEMPLATES_DIR): Promise<TemplateInfo[]> {
  const entries = await readdir(templatesDir, { withFileTypes: true });
  const templates: TemplateInfo[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const dir = join(templatesDir, entry.name);
    if (!(await exists(join(dir, "cozy.toml")))) continue;
    templates.push(await readTemplateInfo(entry.name, dir));
  }
  return templates.sort((a, b) => a.name.localeCompare(b.name));
}

async function readTemplateInfo(name: string, dir: string): Promise<TemplateInfo> {
  const file = join(dir, TEMPLATE_INFO_FILE);
  if (!(await exists(file))) return { name, description: "", try: [] };
  const info = JSON.parse(await readFile(file, "utf8")) as Partial<TemplateInfo>;
  return {
    name,
    description: typeof info.description === "string" ? info.description : "",
    try: Array.isArray(info.try) ? info.try.filter((line) => typeof line === "string") : [],
  };
}

/** The template of that name; an unknown name is a usage error listing the templates. */
export async function findTemplate(name: string, templatesDir = TEMPLATES_DIR): Promise<TemplateInfo> {
  const templates = await listTemplates(templatesDir);
  const template = templates.find((candidate) => candidate.name === name);
  if (template) return template;
  const names = templates.map((candidate) => candidate.name).join(", ");
  throw new ScaffoldError(`unknown template "${name}": choose one of ${names}`, "usage");
}

/**
 * An npm package name (and cozy.toml name) made from a folder name: lowercase, runs of other
 * characters than `a-z 0-9 . _ -` become `-`, no leading `.` or `_`; "my-worker" when nothing is left.
 */
export function projectNameFromDir(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[-._]+|[-.]+$/g, "")
    .slice(0, 214);
  return /[a-z0-9]/.test(name) ? name : "my-worker";
}

/** `{{key}}` placeholders and their values. */
export type TemplateVariables = Record<string, string>;

/**
 * Replaces every `{{key}}` in a template file. A placeholder without a value is a bug in the
 * template, so it is an error rather than text left in the user's project.
 */
export function substitute(text: string, variables: TemplateVariables, file: string): string {
  return text.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_match, key: string) => {
    const value = variables[key];
    if (value === undefined) {
      throw new Error(`template file ${file} uses {{${key}}}, which has no value`);
    }
    return value;
  });
}

/** Where a template file lands: a leading `_` stands for `.` (`_gitignore` → `.gitignore`), so
 * npm publishes those files and git and Docker don't act on them inside gen-worker itself. */
export function targetFileName(templateName: string): string {
  return templateName.startsWith("_") ? `.${templateName.slice(1)}` : templateName;
}

export interface RenderOptions {
  template: string;
  targetDir: string;
  variables: TemplateVariables;
  templatesDir?: string;
  /** Files copied as they are after the template's: `target` relative to targetDir, with `/`. */
  extraFiles?: ReadonlyArray<{ target: string; source: string }>;
}

export interface RenderResult {
  template: TemplateInfo;
  targetDir: string;
  /** The files written, relative to targetDir, with `/` separators, sorted. */
  files: string[];
}

/**
 * Writes a template into `targetDir`, which must be missing or empty (it is created). Files are
 * opened with O_EXCL, so nothing that appears there meanwhile is ever overwritten.
 */
export async function renderTemplate(options: RenderOptions): Promise<RenderResult> {
  const templatesDir = options.templatesDir ?? TEMPLATES_DIR;
  const template = await findTemplate(options.template, templatesDir);
  const targetDir = resolve(options.targetDir);
  await checkTarget(options.targetDir);
  await mkdir(targetDir, { recursive: true });

  const sourceDir = join(templatesDir, template.name);
  const files: string[] = [];
  const create = async (relativeTarget: string, write: (target: string) => Promise<void>) => {
    const target = join(targetDir, ...relativeTarget.split("/"));
    await mkdir(dirname(target), { recursive: true });
    try {
      await write(target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") {
        throw new ScaffoldError(
          `${display(options.targetDir)}${relativeTarget} appeared while init was writing: nothing was overwritten; remove what init wrote and run it again`,
          "failure",
        );
      }
      throw error;
    }
    files.push(relativeTarget);
  };
  for (const source of await walk(sourceDir)) {
    const parts = relative(sourceDir, source).split(sep);
    if (parts.length === 1 && parts[0] === TEMPLATE_INFO_FILE) continue;
    const relativeTarget = parts.map(targetFileName).join("/");
    const text = substitute(await readFile(source, "utf8"), options.variables, relativeTarget);
    await create(relativeTarget, (target) =>
      writeFile(target, text, { flag: constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY }),
    );
  }
  for (const extra of options.extraFiles ?? []) {
    await create(extra.target, (target) => copyFile(extra.source, target, constants.COPYFILE_EXCL));
  }
  return { template, targetDir, files: files.sort() };
}

/**
 * Refuses a target that is a file or a folder that is not empty (exit 2: the argument is wrong),
 * saying what to give init instead.
 */
export async function checkTarget(asGiven: string): Promise<void> {
  const targetDir = resolve(asGiven);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(targetDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if (!info.isDirectory()) {
    throw new ScaffoldError(
      `${asGiven} exists and is not a folder: give init the name of a new or empty folder, for example \`${otherFolder(asGiven)}\``,
      "usage",
    );
  }
  const entries = (await readdir(targetDir, { withFileTypes: true }))
    .map((entry) => (entry.isDirectory() ? `${entry.name}/` : entry.name))
    .sort();
  if (entries.length === 0) return;
  const shown =
    entries.slice(0, 10).join(", ") + (entries.length > 10 ? `, and ${entries.length - 10} more` : "");
  throw new ScaffoldError(
    `${display(asGiven)} is not empty (it holds ${shown}) and init never overwrites files: ` +
      `give init a new folder name, for example \`${otherFolder(asGiven)}\` (it creates the folder), ` +
      "or run it in an empty folder",
    "usage",
  );
}

/** An init command for a folder beside the one refused. */
function otherFolder(asGiven: string): string {
  const given = asGiven.replace(/[/\\]+$/, "");
  return `cozy-worker init ${shellQuote(given === "." || given === "" ? "my-worker" : `${given}-2`)}`;
}

function display(dir: string): string {
  return dir === "." || dir === "" ? "this folder" : `${dir.replace(/[/\\]+$/, "")}/`;
}

async function walk(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export interface NextStepsOptions {
  /** The install command: plain `npm install`, or one that skips onnxruntime-node's download on an npm that ignores allowScripts. */
  install: string;
  cwd?: string;
}

/** What to do after init: enter the folder, install, start the dev runner, try an endpoint. */
export function nextSteps(result: RenderResult, options: NextStepsOptions): string {
  const fromHere = relative(options.cwd ?? process.cwd(), result.targetDir);
  const steps: Array<[command: string, comment: string]> = [];
  if (fromHere !== "")
    steps.push([`cd ${shellQuote(fromHere.startsWith("..") ? result.targetDir : fromHere)}`, ""]);
  steps.push([options.install, "installs gen-worker, writes package-lock.json"]);
  steps.push(["npm run dev", "the dev runner on http://127.0.0.1:8081, reloads on save"]);
  for (const command of result.template.try) steps.push([command, "in another terminal"]);
  steps.push(["npm test", "drives the endpoints through the dev runner"]);
  steps.push(["npm run typecheck", "TypeScript's check of src/"]);
  steps.push(["npm run discover", "the manifest the image bakes"]);
  const width = Math.max(...steps.map(([command]) => command.length));
  return steps
    .map(([command, comment]) => (comment ? `  ${command.padEnd(width)}  # ${comment}` : `  ${command}`))
    .join("\n");
}

function shellQuote(text: string): string {
  return /^[\w./@:+-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}
