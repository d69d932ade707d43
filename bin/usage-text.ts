// yargs' own usage messages as one line in the CLI's style (every command's .fail handler):
// a bad choice is "Invalid values:" and a second, indented line in yargs; one line here.

/** `msg`/`err` of a yargs failure, on one line. */
export function usageText(msg: string | null | undefined, err: Error | undefined, fallback = 'bad arguments'): string {
  const text = msg || err?.message || fallback;
  let m: RegExpExecArray | null;
  if ((m = /^Invalid values?:\s*Argument: ([^,]+), Given: (.+), Choices: (.+)$/s.exec(text))) {
    return `${dashed(m[1] as string)} must be one of ${(m[3] as string).trim()}, got ${(m[2] as string).trim()}`;
  }
  if ((m = /^Not enough arguments following: (.+)$/.exec(text))) return `${dashed(m[1] as string)} needs a value, got nothing`;
  if ((m = /^Unknown arguments?: (.+)$/.exec(text))) return `unknown flag or extra argument, got ${m[1] as string}`;
  return text.replace(/\s*\n\s*/g, '; ');
}

function dashed(name: string): string {
  return name.startsWith('-') || /^[a-z]+:/.test(name) ? name : name.length === 1 ? `-${name}` : `--${name}`;
}
