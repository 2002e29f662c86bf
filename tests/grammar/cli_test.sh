#!/usr/bin/env bash
# tests/grammar/cli_test.sh EVOALLOC — end-to-end checks of `evoalloc grammar ...` and
# `evoalloc decode`: outputs, error messages (file:line:col) and exit codes (0/1/2).
set -uo pipefail
evo="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0; passes=0
expect() {  # expect NAME WANT_RC REGEX -- CMD...
  local name="$1" want="$2" regex="$3"; shift 4
  local out rc
  out="$("$@" 2>&1)"; rc=$?
  if [ "$rc" -ne "$want" ] || ! grep -Eq -- "$regex" <<<"$out"; then
    echo "FAIL $name: exit $rc (want $want), output:"; echo "$out" | head -20; fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
}
# --verify parses all 14M sentences (35 s in Release); the Debug+ASan flavour would
# take 10x that and checks nothing more, so CMake sets EVOALLOC_CLI_SKIP_VERIFY there.
if [ -z "${EVOALLOC_CLI_SKIP_VERIFY:-}" ]; then
  expect check-verify 0 '^verified: [0-9]+ sentences parse canonically' -- "$evo" grammar check --verify
else
  echo "check-verify skipped (EVOALLOC_CLI_SKIP_VERIFY: sanitizer build)"
fi
expect check-counts 0 '^designs: [0-9]+ ' -- "$evo" grammar check
expect enumerate-count 0 '^[0-9]+$' -- "$evo" grammar enumerate --count
expect enumerate-limit 0 '^minimal align=16 source=region harden=off front=none retain=0	0 0 0 0 0 0$' -- "$evo" grammar enumerate --limit 1 --genomes
sentence="superblock classes=fitted:16 sb=256K bins=mtf alg=bitmap pagemap=radix2 cache=eager large=64K align=32 source=mmap harden=canary front=tcache:64 retain=1M"
genome="$("$evo" grammar encode "$sentence")"
expect encode-decode 0 "^sentence: $sentence\$" -- "$evo" decode $genome
expect decode-core 0 '^core: accepted, row [0-9]+ \(superblock ' -- "$evo" decode $genome
expect decode-dots 0 '^codons used: ' -- "$evo" decode "$(tr ' ' . <<<"$genome")"
printf '# a genome\n%s\n' "$genome" > "$tmp/genome.txt"
expect decode-file 0 "^sentence: $sentence\$" -- "$evo" decode --genome "$tmp/genome.txt"
printf '1 2\n3 x4\n' > "$tmp/bad-genome.txt"
expect decode-bad-file 1 "bad-genome.txt:2:3: 'x4' is not a codon" -- "$evo" decode --genome "$tmp/bad-genome.txt"
expect decode-invalid 1 '^invalid: ran out of codons' -- "$evo" decode --wraps 0 0
expect decode-usage 2 'missing codons' -- "$evo" decode
expect decode-bad-codon 2 "'-1' is not a codon" -- "$evo" decode -- -1
printf '<s> ::= a <t>\n<u> ::= b\n' > "$tmp/bad.bnf"
expect check-bad-grammar 1 "bad.bnf:1:11: undefined non-terminal <t>" -- "$evo" grammar check --grammar "$tmp/bad.bnf"
printf '<s> ::= a\n<t> := b\n' > "$tmp/syntax.bnf"
expect check-syntax 1 "syntax.bnf:2:4: syntax error, expected '::=' after the rule name" -- "$evo" grammar check --grammar "$tmp/syntax.bnf"
expect check-missing 1 'cannot read grammar file' -- "$evo" grammar check --grammar "$tmp/none.bnf"
expect encode-not-sentence 1 'is not a sentence of' -- "$evo" grammar encode "superblock"
expect grammar-usage 2 'unknown subcommand' -- "$evo" grammar frobnicate
expect grammar-option 2 'unrecognised option|unrecognized option' -- "$evo" grammar check --nope
echo "cli_test: $passes checks ok, $fails checks wrong"
[ "$fails" -eq 0 ]
