// The control plane's config: the last valid set loaded from files and directories, optionally kept current by
// watching them. A load with errors is reported and never replaces the last valid set.
import { watch, type FSWatcher } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { buildConfigSet, type ConfigSet } from "./config-set.js";
import { fileError, type ConfigError } from "./errors.js";
import { CONFIG_EXTENSIONS, ParseCache } from "./load.js";
import { loadAndValidate } from "./validate.js";

export interface StoreLoadResult {
  /** True when this load was valid and is now the current config. */
  ok: boolean;
  errors: ConfigError[];
  /** The current config: this load's when ok, else the last valid one (undefined if there never was one). */
  config: ConfigSet | undefined;
  /** Watch reloads: when the file event that started this reload arrived (Date.now() clock). */
  changedAt?: number;
}

export interface ConfigStoreOptions {
  /**
   * Quiet period after the last file event before reloading. Default 20 ms: enough to take an editor's write +
   * rename, or a checkout's burst, as one reload. Pushes have their own ~100 ms debounce (serve.ts), counted from
   * the reload's `changedAt`, so this wait and the reload itself count toward it rather than adding to it.
   */
  debounceMs?: number;
}

export class ConfigStore {
  #config: ConfigSet | undefined;
  #watchers: FSWatcher[] = [];
  /** Directory → its non-recursive watcher, for every directory of the watched trees. */
  #treeWatchers = new Map<string, FSWatcher>();
  #timer: NodeJS.Timeout | undefined;
  #reloading: Promise<void> | undefined;
  #pending = false;
  /** The last file event not yet covered by a reload that started. */
  #lastEventAt: number | undefined;
  #closed = false;
  readonly #debounceMs: number;
  /** Reloads re-parse and re-validate only the files that changed. */
  readonly #parsed = new ParseCache();

  constructor(options: ConfigStoreOptions = {}) {
    this.#debounceMs = options.debounceMs ?? 20;
  }

  /** The last valid config, or undefined before the first valid load. */
  get config(): ConfigSet | undefined {
    return this.#config;
  }

  async load(paths: readonly string[]): Promise<StoreLoadResult> {
    const { documents, errors } = await loadAndValidate(paths, this.#parsed);
    if (errors.length === 0) this.#config = buildConfigSet(documents);
    return { ok: errors.length === 0, errors, config: this.#config };
  }

  /**
   * Loads `paths`, then reloads whenever a config file under them changes (debounced), calling `onChange` with
   * each reload's result. Returns the initial load's result. `close()` stops watching.
   */
  async watch(paths: readonly string[], onChange: (result: StoreLoadResult) => void): Promise<StoreLoadResult> {
    if (this.#closed) throw new Error("config store is closed");
    const initial = await this.load(paths);
    const schedule = () => this.#schedule(paths, onChange);
    for (const target of await watchTargets(paths)) {
      if (!target.recursive) {
        const watcher = watch(target.dir, (_event, filename) => {
          if (basename(filename ? String(filename) : "") === target.file) schedule();
        });
        // A watched directory that disappears ends its watcher; the reload reports the missing path.
        watcher.on("error", schedule);
        this.#watchers.push(watcher);
      } else await this.#watchTree(target.dir, schedule);
    }
    return initial;
  }

  /**
   * Watches every directory under `root` one by one. Node 20's `recursive` watcher on Linux stops reporting a file
   * once it has been replaced by a rename (how editors and `kubectl cp`-style tools save), so each directory gets
   * its own non-recursive watcher, which reports its entries by name however they change. Directories that appear
   * or disappear are picked up on the next event naming them. Returns whether the set of directories changed.
   */
  async #watchTree(root: string, schedule: () => void): Promise<boolean> {
    const dirs = new Set(await directoryTree(root));
    if (this.#closed) return false;
    let changed = false;
    for (const [dir, watcher] of this.#treeWatchers) {
      if ((dir === root || dir.startsWith(root + sep)) && !dirs.has(dir)) {
        watcher.close();
        this.#treeWatchers.delete(dir);
        changed = true;
      }
    }
    for (const dir of dirs) {
      if (this.#treeWatchers.has(dir)) continue;
      let watcher: FSWatcher;
      try {
        watcher = watch(dir, (_event, filename) => {
          const name = filename ? String(filename) : "";
          if (name === "" || isConfigFile(name)) schedule();
          // Any other visible name may be a directory that came or went.
          if (!isConfigFile(name) && !name.startsWith(".")) void this.#watchTree(root, schedule).then((c) => c && schedule());
        });
      } catch {
        continue; // gone between listing and watching: the next event or reload sees it
      }
      watcher.on("error", () => {
        watcher.close();
        this.#treeWatchers.delete(dir);
        schedule();
      });
      this.#treeWatchers.set(dir, watcher);
      changed = true;
    }
    return changed;
  }

  /** A file event: reload once events have been quiet for the debounce period. */
  #schedule(paths: readonly string[], onChange: (result: StoreLoadResult) => void): void {
    if (this.#closed) return;
    this.#lastEventAt = Date.now();
    this.#armReload(paths, onChange, this.#debounceMs);
  }

  #armReload(paths: readonly string[], onChange: (result: StoreLoadResult) => void, delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#reloading) {
        this.#pending = true;
        return;
      }
      const changedAt = this.#lastEventAt ?? Date.now();
      this.#lastEventAt = undefined;
      this.#reloading = this.load(paths)
        .then((result) => {
          if (!this.#closed) onChange({ ...result, changedAt });
        })
        .catch((e: unknown) => {
          const message = `reload failed: ${e instanceof Error ? e.message : String(e)}`;
          if (!this.#closed) onChange({ ok: false, errors: [fileError(paths.join(", "), message)], config: this.#config, changedAt });
        })
        .finally(() => {
          this.#reloading = undefined;
          // Events during the reload were quiet long enough already (the timer fired): reload again at once.
          if (this.#pending && !this.#closed) {
            this.#pending = false;
            this.#armReload(paths, onChange, 0);
          }
        });
    }, delayMs);
  }

  /** Stops watching; releases every file handle and timer. Safe to call twice. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
    for (const w of this.#treeWatchers.values()) w.close();
    this.#treeWatchers.clear();
  }
}

/** `root` and every directory below it that config loading walks (hidden ones are skipped, as there). */
async function directoryTree(root: string): Promise<string[]> {
  const out = [root];
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory() && !e.name.startsWith(".")) out.push(...(await directoryTree(join(root, e.name))));
  return out;
}

function isConfigFile(name: string): boolean {
  const dot = name.lastIndexOf(".");
  return !basename(name).startsWith(".") && dot >= 0 && CONFIG_EXTENSIONS.has(name.slice(dot).toLowerCase());
}

interface WatchTarget {
  dir: string;
  recursive: boolean;
  /** Set when watching a single file: events are filtered to it (editors replace files, so watch the directory). */
  file?: string;
}

async function watchTargets(paths: readonly string[]): Promise<WatchTarget[]> {
  const targets: WatchTarget[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    const st = await stat(abs).catch(() => undefined);
    if (st?.isDirectory()) targets.push({ dir: abs, recursive: true });
    else {
      const dir = dirname(abs);
      if (await stat(dir).catch(() => undefined)) targets.push({ dir, recursive: false, file: basename(abs) });
    }
  }
  return targets;
}
