# Bar chart of the medians written by benchmarks/report.py (startup-plot.dat).
# Usage: gnuplot -e "datafile='startup-plot.dat'; outfile='startup.png'; titles='startup ...'" plot.gnuplot
# One panel per block of the data file (a part of the benchmark), ferry's bars in orange, a
# --baseline build's in light orange.
# Log scale: start-up times (milliseconds) and metadata times (tenths of seconds) differ 100x.
if (!exists("datafile")) datafile = "startup-plot.dat"
if (!exists("outfile")) outfile = "startup.png"
if (!exists("titles")) titles = "startup metadata-warm metadata-cold"
n = words(titles)

set terminal pngcairo size 1200, 420 * n font "sans,10"
set output outfile
set multiplot layout n, 1
set style fill solid 0.7 border -1
set boxwidth 0.7
set logscale y
set ylabel "median (ms, log scale)"
set xtics rotate by -30 left nomirror
set grid ytics
unset key
do for [i = 1:n] {
	set title word(titles, i)
	plot datafile index (i - 1) using 0:2:($3 > 1 ? 0xfdb863 : $3 > 0 ? 0xd95f02 : 0x4a7ab5):xtic(1) with boxes lc rgb variable, \
	     "" index (i - 1) using 0:2:(sprintf("%.3g", $2)) with labels offset 0, 0.7 font "sans,8"
}
unset multiplot
