// Audience matching as Envoy does it (source/common/jwt/check_audience.cc): an http:// or https://
// prefix and one trailing slash are ignored on both sides; no configured audiences allows any.

export function sanitizeAudience(aud: string): string {
  if (aud.length == 0) return aud;
  let start = 0;
  if (aud.startsWith("http://")) start = 7;
  else if (aud.startsWith("https://")) start = 8;
  let end = aud.length;
  if (aud.charCodeAt(end - 1) == 0x2f) end--;
  if (start == 0 && end == aud.length) return aud;
  return end > start ? aud.substring(start, end) : "";
}

export function audiencesAllowed(configured: string[], tokenAudiences: string[]): bool {
  if (configured.length == 0) return true;
  for (let i = 0; i < tokenAudiences.length; i++) {
    const aud = sanitizeAudience(tokenAudiences[i]);
    for (let j = 0; j < configured.length; j++) {
      if (sanitizeAudience(configured[j]) == aud) return true;
    }
  }
  return false;
}
