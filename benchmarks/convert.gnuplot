# Bar charts of the medians written by benchmarks/convert-report.py (convert-plot.dat).
# Usage: gnuplot -e "datafile='convert-plot.dat'; outfile='convert.png'" convert.gnuplot
# One row per image (a block of the data file), three panels: wall time, peak RSS and bytes
# written to disk (with the output size as a thin bar inside: written above it is extra I/O).
# ferry's bars in orange. Log scale: the tools differ by more than 10x.
if (!exists("datafile")) datafile = "convert-plot.dat"
if (!exists("outfile")) outfile = "convert.png"
if (!exists("titles")) titles = system("sed -n 's/^# titles: //p' " . datafile)
n = words(titles)

set terminal pngcairo size 1500, 430 * n font "sans,10"
set output outfile
set multiplot layout n, 3
set style fill solid 0.7 border -1
set boxwidth 0.7
set logscale y
set xtics rotate by -30 left nomirror
set grid ytics
set bmargin 7
unset key
col(f) = (f > 0 ? 0xd95f02 : 0x4a7ab5)
do for [i = 1:n] {
	set title word(titles, i) . ": wall time, median"
	set ylabel "seconds (log)"
	plot datafile index (i - 1) using 0:2:(col($7)):xtic(1) with boxes lc rgb variable, \
	     "" index (i - 1) using 0:2:(sprintf("%.3g", $2)) with labels offset 0, 0.7 font "sans,8"
	set title word(titles, i) . ": peak RSS (largest process)"
	set ylabel "MiB (log)"
	plot datafile index (i - 1) using 0:4:(col($7)):xtic(1) with boxes lc rgb variable, \
	     "" index (i - 1) using 0:4:(sprintf("%.0f", $4)) with labels offset 0, 0.7 font "sans,8"
	set title word(titles, i) . ": written to disk (thin black bar: output size)"
	set ylabel "MiB (log)"
	plot datafile index (i - 1) using 0:5:(col($7)):xtic(1) with boxes lc rgb variable, \
	     "" index (i - 1) using 0:6:(0.15) with boxes fs solid 1.0 lc rgb "black", \
	     "" index (i - 1) using 0:5:(sprintf("%.0f", $5)) with labels offset 0, 0.7 font "sans,8"
}
unset multiplot
