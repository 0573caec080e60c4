"""Shared by the analysis steps of the bench/ scripts: the lab VM's kernel and accelerator, the
io_uring_enter counts of a tracefs histogram, and the plots (gnuplot; a missing gnuplot costs the
plot only, never the figures)."""
import re
import subprocess


def vm_kernel(log):
    """(kernel, accelerator) from a tests/lab/vm.sh log, ("?", "?") when it has none."""
    m = re.search(r"vm.sh: kernel ([^\s,]+), accel ([^\s,]+)", open(log).read())
    return (m.group(1), m.group(2)) if m else ("?", "?")


def enter_calls(hist):
    """(fio's, other processes') io_uring_enter entries in a tracefs histogram file written by
    'hist:keys=common_pid.execname:vals=hitcount' on syscalls/sys_enter_io_uring_enter."""
    fio = other = 0
    for m in re.finditer(r"common_pid:\s*(\S+)\s*\[\s*\d+\]\s*\}\s*hitcount:\s*(\d+)", open(hist).read()):
        if m.group(1).startswith("fio"): fio += int(m.group(2))
        else: other += int(m.group(2))
    return fio, other


def plot(png, script, size="1000,420"):
    """Runs gnuplot `script` with a png terminal writing `png`."""
    subprocess.run(["gnuplot", "-e", f"set terminal png size {size} noenhanced; set output '{png}'; {script}"],
                   check=False)


def bars(png, dat, rows, ylabel, title):
    """A bar per row (label, median, min, max) with a min..max error bar; the data go to `dat`."""
    with open(dat, "w") as f:
        for i, (label, med, lo, hi) in enumerate(rows):
            f.write(f'{i} "{label}" {med} {lo} {hi}\n')
    plot(png, f"""set style fill solid; set boxwidth 0.6; set ylabel '{ylabel}'; set yrange [0:*]; unset key;
set xrange [-0.5:{len(rows) - 0.5}]; set xtics rotate by -15; set title '{title}';
plot '{dat}' using 1:3:xtic(2) with boxes, '' using 1:3:4:5 with yerrorbars lc rgb 'black'""")
