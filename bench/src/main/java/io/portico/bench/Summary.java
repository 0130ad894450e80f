package io.portico.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The targets across the full runs kept in {@code bench/results}: one run on 2 cores says little
 * (the machine's hour moves a ratio by more than most changes do), so this reads the targets'
 * tables that each run wrote ("Targets of issue 18" and "Other targets") and tells, per target,
 * in how many runs it was met and how its ratio spread. Each run is taken as its file judged it:
 * nothing is measured or judged again here, and the code changed between runs (each file names
 * its commit).
 *
 * <p>A full run is one of every row at the full sizes with both partition counts and the
 * JIT-quiet warm-up (what {@code bench/run.sh} runs without options); {@code --all} takes every results file with
 * targets' tables, {@code --since NAME} only runs named NAME or later
 * ({@code yyyy-MM-dd-HHmm}).
 */
public final class Summary {
    private static final Pattern SETTINGS = Pattern.compile("^- Settings: (.*)$", Pattern.MULTILINE);
    private static final Pattern COMMIT = Pattern.compile("^- Portico: commit (\\w+)", Pattern.MULTILINE);
    private static final Pattern PERCENT = Pattern.compile("^(\\d+(?:\\.\\d+)?)%");
    private static final Pattern TIMES = Pattern.compile("(\\d+(?:\\.\\d+)?) ×");

    private Summary() {
    }

    /** One target as a run judged it: its ratio when it has one, and whether it was met (null: not judged). */
    record Judged(String target, String generator, String partitions, Double ratio, Boolean met) {
        String key() {
            return target + " | " + generator + " | " + partitions;
        }
    }

    /** A results file's targets. */
    record Run(String name, String commit, boolean full, List<Judged> judged) {
    }

    /**
     * The targets of a results file, or null when it has no targets' tables.
     *
     * @param name the file's name without {@code .md}
     */
    static Run parse(String name, String text) {
        List<Judged> judged = new ArrayList<>();
        boolean tables = false;
        boolean partial = false; // some rows were not run (--rows)
        String section = "";
        for (String line : text.split("\n")) {
            if (line.startsWith("## ")) {
                section = line.substring(3);
                continue;
            }
            boolean issue18 = section.startsWith("Targets of issue 18");
            boolean other = section.startsWith("Other targets");
            if (!(issue18 || other) || !line.startsWith("| ") || line.startsWith("| target ") || line.startsWith("| ---")) {
                continue;
            }
            tables = true;
            String[] cells = line.substring(2, line.length() - (line.endsWith(" |") ? 2 : 0)).split(" \\| ", -1);
            if (issue18 && cells.length == 5) {
                partial |= cells[3].startsWith("not run");
                judged.add(new Judged(cells[0], cells[1], cells[2], ratio(cells[3]), met(cells[4])));
            } else if (other && cells.length == 3) {
                judged.add(new Judged(cells[0], "bench", "3", ratio(cells[1]), met(cells[2])));
            }
        }
        if (!tables) {
            return null;
        }
        Matcher s = SETTINGS.matcher(text);
        String settings = s.find() ? s.group(1) : "";
        // Full sizes: 2,000,000 records produced, and read rows on the 10,000,000 of --read-records
        // (runs before it had none and read the 2,000,000).
        boolean full = !partial && settings.startsWith("records=2,000,000 ") && settings.contains("requests=500,000")
                && (!settings.contains("read records=") || settings.contains("read records=10,000,000 "))
                && settings.contains("partitions=1,3") && settings.contains("JIT compilers are quiet");
        Matcher c = COMMIT.matcher(text);
        return new Run(name, c.find() ? c.group(1) : "?", full, judged);
    }

    /** {@code 55% (…)} is 0.55, {@code 0.84 × e} 0.84, {@code 8.95 ms vs 6.34 ms: 1.41 ×} 1.41; else none. */
    static Double ratio(String cell) {
        Matcher p = PERCENT.matcher(cell);
        if (p.find()) {
            return Double.parseDouble(p.group(1)) / 100;
        }
        Matcher t = TIMES.matcher(cell);
        Double last = null;
        while (t.find()) {
            last = Double.parseDouble(t.group(1));
        }
        return last;
    }

    private static Boolean met(String cell) {
        return switch (cell.trim()) {
            case "yes" -> Boolean.TRUE;
            case "**no**" -> Boolean.FALSE;
            default -> null; // not judged in that run, or only reported
        };
    }

    /** The table of the targets over {@code runs}, oldest first. */
    static String markdown(List<Run> runs) {
        StringBuilder md = new StringBuilder();
        md.append("# Targets across the runs kept in bench/results\n\n");
        if (runs.isEmpty()) {
            return md.append("No runs with targets' tables.\n").toString();
        }
        md.append(String.format(Locale.ROOT, "%d runs, %s to %s, each as its own file judged it (the code changed "
                + "between them: each file names its commit). Ratios are to each row's baseline in the same run; "
                + "\"met\" counts the runs that judged the target.%n%n", runs.size(), runs.get(0).name(),
                runs.get(runs.size() - 1).name()));
        Map<String, List<Judged>> byTarget = new LinkedHashMap<>();
        for (Run r : runs) {
            for (Judged j : r.judged()) {
                byTarget.computeIfAbsent(j.key(), k -> new ArrayList<>()).add(j);
            }
        }
        Run newest = runs.get(runs.size() - 1);
        md.append("| target | generator | partitions | met | lowest | median | highest | newest (")
                .append(newest.name()).append(") |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (Map.Entry<String, List<Judged>> e : byTarget.entrySet()) {
            List<Judged> all = e.getValue();
            Judged first = all.get(0);
            long judgedRuns = all.stream().filter(j -> j.met() != null).count();
            long met = all.stream().filter(j -> Boolean.TRUE.equals(j.met())).count();
            double[] ratios = all.stream().filter(j -> j.ratio() != null).mapToDouble(Judged::ratio).sorted().toArray();
            Judged last = newest.judged().stream().filter(j -> j.key().equals(e.getKey())).findFirst().orElse(null);
            md.append("| ").append(first.target()).append(" | ").append(first.generator()).append(" | ")
                    .append(first.partitions()).append(" | ")
                    .append(judgedRuns == 0 ? "—" : met + " of " + judgedRuns).append(" | ")
                    .append(ratios.length == 0 ? "—" : ratio(ratios[0])).append(" | ")
                    .append(ratios.length == 0 ? "—" : ratio(median(ratios))).append(" | ")
                    .append(ratios.length == 0 ? "—" : ratio(ratios[ratios.length - 1])).append(" | ")
                    .append(last == null || last.ratio() == null ? "—" : ratio(last.ratio())
                            + (Boolean.TRUE.equals(last.met()) ? " (met)" : ""))
                    .append(" |\n");
        }
        long allMet = runs.stream().filter(r -> r.judged().stream().noneMatch(j -> Boolean.FALSE.equals(j.met())))
                .count();
        md.append(String.format(Locale.ROOT, "%nRuns in which every judged target was met: %d of %d.%n", allMet,
                runs.size()));
        md.append("\nRuns: ");
        for (int i = 0; i < runs.size(); i++) {
            md.append(i == 0 ? "" : ", ").append('`').append(runs.get(i).name()).append("` (")
                    .append(runs.get(i).commit()).append(')');
        }
        return md.append(".\n").toString();
    }

    private static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static String ratio(double r) {
        return String.format(Locale.ROOT, "%.2f", r);
    }

    /** The runs in {@code dir} ({@code yyyy-MM-dd-HHmm.md}), oldest first: full ones unless {@code all}, none before {@code since}. */
    static List<Run> read(Path dir, boolean all, String since) throws IOException {
        List<Run> runs = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                String file = f.getFileName().toString();
                if (!file.matches("\\d{4}-\\d{2}-\\d{2}-\\d{4}\\.md")) {
                    continue;
                }
                String name = file.substring(0, file.length() - 3);
                if (since != null && name.compareTo(since) < 0) {
                    continue;
                }
                Run run = parse(name, Files.readString(f, StandardCharsets.UTF_8));
                if (run != null && (all || run.full())) {
                    runs.add(run);
                }
            }
        }
        return runs;
    }

    public static void main(String[] args) throws IOException {
        boolean all = false;
        String since = null;
        Path out = null;
        Path dir = Path.of(System.getProperty("bench.root", ".")).resolve("bench/results");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--all" -> all = true;
                case "--since" -> since = value(args, ++i, "--since");
                case "--out" -> out = Path.of(value(args, ++i, "--out"));
                case "--results" -> dir = Path.of(value(args, ++i, "--results"));
                case "--help", "-h" -> {
                    System.out.println("bench/summary.sh [--all] [--since yyyy-MM-dd-HHmm] [--results DIR] [--out FILE]");
                    System.out.println("  the targets across the full runs kept in bench/results (--all: every run with targets)");
                    return;
                }
                default -> throw new IllegalArgumentException("unknown option " + args[i] + " (see --help)");
            }
        }
        String md = markdown(read(dir, all, since));
        if (out == null) {
            System.out.print(md);
        } else {
            Files.writeString(out, md, StandardCharsets.UTF_8);
            System.out.println("wrote " + out);
        }
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }
}
