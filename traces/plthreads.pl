# traces/plthreads.pl — a multi-threaded perl program for issue 14 (docs/benchmarks.md;
# record it with the command in traces/README.md). Debian's perl is built with
# ithreads and the system malloc: each thread runs its own interpreter, so unlike
# python3's threads (one at a time under the GIL) its threads allocate at the same
# time. T worker threads (default 3) each take N/T of the work: build a short word,
# count it in a hash, batch records (a hash holding a list) and every 200 records
# encode the batch to JSON with JSON::PP and decode it back. The main thread joins
# them; a joined thread's interpreter is freed by the thread that joins it, so what
# a worker still holds is freed on another thread. Prints a checksum (the same under
# every allocator).
use strict;
use warnings;
use threads;
use JSON::PP;

my $n = shift // 60000;
my $t = shift // 3;

sub work {
  my ($first, $step) = @_;
  my (%count, @batch);
  my $sum = 0;
  my $json = JSON::PP->new->canonical;
  for (my $i = $first; $i <= $n; $i += $step) {
    my $w = join "-", map { chr(97 + ($i * 7 + $_ * 13) % 26) x (1 + ($i + $_) % 5) } 0 .. ($i % 6);
    $count{$w}++;
    push @batch, { id => $i, w => $w, v => [ map { $_ * $i % 97 } 1 .. 8 ] };
    if (@batch >= 200) {
      my $back = $json->decode($json->encode(\@batch));
      $sum += @$back;
      @batch = ();
    }
  }
  return $sum + scalar(keys %count);
}

my @workers = map { threads->create(\&work, $_, $t) } 1 .. $t;
my $total = 0;
$total += $_->join for @workers;
print "$total\n";
