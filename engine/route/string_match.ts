// One Istio StringMatch, ready to evaluate: exact / prefix / RE2 full match / present.
import { Regex } from "./regex";
import { regionEquals } from "./text";

export enum StringMatchKind {
  Exact = 0,
  Prefix = 1,
  Regex = 2,
  /** `{}` or regex "*": Istio turns these into Envoy's present_match. */
  Present = 3,
}

export class StringMatcher {
  constructor(
    public kind: StringMatchKind,
    public value: string,
    public regex: Regex | null = null,
  ) {}

  matches(s: string): bool {
    switch (this.kind) {
      case StringMatchKind.Exact: return s == this.value;
      case StringMatchKind.Prefix: return regionEquals(s, 0, this.value);
      case StringMatchKind.Regex: return this.regex!.fullMatch(s);
      default: return true;
    }
  }

  get isPresent(): bool {
    return this.kind == StringMatchKind.Present;
  }
}
