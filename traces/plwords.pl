# traces/plwords.pl — a single-threaded perl program for the real-program bench of
# issue 13 (docs/benchmarks.md; its trace is not shipped, record it with the command
# in traces/README.md). Debian's perl allocates through the system malloc
# (`perl -V:usemymalloc` is 'n'). N times it builds a short hyphenated word, counts it
# in a hash and adds a record (a hash holding a list) to a batch; every 500 records
# the batch is encoded to JSON and decoded back with the core module JSON::PP. Prints
# a checksum and the ten commonest words (the same under every allocator).
use strict;
use warnings;
use JSON::PP;

my $n = shift // 200000;
my (%count, @batch);
my $sum = 0;
my $json = JSON::PP->new->canonical;
for my $i (1 .. $n) {
  my $w = join "-", map { chr(97 + ($i * 7 + $_ * 13) % 26) x (1 + ($i + $_) % 5) } 0 .. ($i % 6);
  $count{$w}++;
  push @batch, { id => $i, w => $w, v => [ map { $_ * $i % 97 } 1 .. 8 ] };
  if (@batch > 500) {
    my $text = $json->encode(\@batch);
    my $back = $json->decode($text);
    $sum += length($text) + @$back;
    @batch = ();
  }
}
my @top = (sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count)[0 .. 9];
print "$sum @top\n";
