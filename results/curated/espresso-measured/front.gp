set terminal pngcairo size 960,680
set output 'front.png'
# gnuplot script of the front picture (run: gnuplot front.gp)
set xlabel 'speed (ns/op, lower is better)'
set ylabel 'fragmentation (peak footprint / peak live - 1)'
set cblabel 'quality (locality cost/op)'
set title "espresso: Pareto front, 25 designs" noenhanced
set grid
set key off
set palette rgbformulae 33,13,10
set logscale x
plot 'front.dat' using 1:2:3 with points pt 7 ps 1.6 lc palette, '' using 1:2:(sprintf('%d',$4)) with labels offset 0.9,0.6 font ',8'
set terminal svg size 960,680 dynamic
set output 'front.svg'
replot
