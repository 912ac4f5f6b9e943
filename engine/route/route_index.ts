// Per-virtual-host index that turns "try every match entry in order" into "try only the entries
// whose literal uri could match, in order". Exact and prefix uri literals go into a character
// trie (one case-sensitive, one ASCII-folded for ignore_uri_case); entries without a literal
// (regex uri, no uri) are always candidates. Walking the request path through the tries collects
// the candidates; they are then tried in configuration order, so first-match-wins is unchanged.
import { MatchEntry, Route } from "./config";
import { Request } from "./request";
import { StringMatchKind } from "./string_match";
import { asciiLowerUnit } from "./text";

class TrieNode {
  keys: i32[] = [];
  children: TrieNode[] = [];
  /** Entries whose prefix literal ends here (ascending order). */
  prefixEntries: i32[] = [];
  /** Entries whose exact literal ends here (ascending order). */
  exactEntries: i32[] = [];

  child(c: i32): TrieNode | null {
    const keys = this.keys;
    for (let i = 0, n = keys.length; i < n; i++) {
      if (unchecked(keys[i]) == c) return unchecked(this.children[i]);
    }
    return null;
  }

  childOrNew(c: i32): TrieNode {
    const existing = this.child(c);
    if (existing) return existing;
    const node = new TrieNode();
    this.keys.push(c);
    this.children.push(node);
    return node;
  }
}

// Candidate scratch space shared by all indexes (decisions never run concurrently).
let scratch = new StaticArray<i32>(64);

export class RouteIndex {
  /** Every match entry of the virtual host, in order; `routes[i]` owns `entries[i]`. */
  entries: MatchEntry[] = [];
  routes: Route[] = [];
  private always: i32[] = [];
  private sensitive: TrieNode = new TrieNode();
  private folded: TrieNode = new TrieNode();
  private hasSensitive: bool = false;
  private hasFolded: bool = false;

  constructor(routes: Route[]) {
    for (let i = 0; i < routes.length; i++) {
      const route = unchecked(routes[i]);
      for (let j = 0; j < route.matches.length; j++) this.add(route, unchecked(route.matches[j]));
    }
  }

  private add(route: Route, entry: MatchEntry): void {
    const id = this.entries.length;
    this.entries.push(entry);
    this.routes.push(route);
    const uri = entry.uri;
    if (!uri || (uri.kind != StringMatchKind.Exact && uri.kind != StringMatchKind.Prefix)) {
      this.always.push(id);
      return;
    }
    // uriLower is the literal, already folded when ignore_uri_case.
    const literal = entry.uriLower;
    let node = entry.ignoreUriCase ? this.folded : this.sensitive;
    if (entry.ignoreUriCase) this.hasFolded = true;
    else this.hasSensitive = true;
    for (let i = 0; i < literal.length; i++) node = node.childOrNew(literal.charCodeAt(i));
    if (uri.kind == StringMatchKind.Exact) node.exactEntries.push(id);
    else node.prefixEntries.push(id);
  }

  /** Writes candidate entry ids for `req` into the scratch array, ascending; returns the count. */
  collect(req: Request): i32 {
    const total = this.entries.length;
    if (scratch.length < total) scratch = new StaticArray<i32>(total);
    let n = appendAll(this.always, 0);
    if (this.hasSensitive) n = walk(this.sensitive, req, false, n);
    if (this.hasFolded) n = walk(this.folded, req, true, n);
    sortPrefix(n);
    return n;
  }

  /** Candidate number k of the last collect(). */
  @inline candidate(k: i32): i32 {
    return unchecked(scratch[k]);
  }
}

function appendAll(ids: i32[], n: i32): i32 {
  for (let i = 0, m = ids.length; i < m; i++) unchecked((scratch[n++] = unchecked(ids[i])));
  return n;
}

function walk(root: TrieNode, req: Request, fold: bool, n: i32): i32 {
  const path = req.path;
  const len = path.length;
  const pathEnd = req.pathEnd;
  let node: TrieNode | null = root;
  let depth = 0;
  while (node) {
    n = appendAll(node.prefixEntries, n);
    if (depth == pathEnd) n = appendAll(node.exactEntries, n);
    if (depth == len) break;
    const c = path.charCodeAt(depth);
    node = node.child(fold ? asciiLowerUnit(c) : c);
    depth++;
  }
  return n;
}

/** Insertion sort of scratch[0, n): candidate lists are short and mostly sorted already. */
function sortPrefix(n: i32): void {
  for (let i = 1; i < n; i++) {
    const v = unchecked(scratch[i]);
    let j = i - 1;
    while (j >= 0 && unchecked(scratch[j]) > v) {
      unchecked((scratch[j + 1] = unchecked(scratch[j])));
      j--;
    }
    unchecked((scratch[j + 1] = v));
  }
}
