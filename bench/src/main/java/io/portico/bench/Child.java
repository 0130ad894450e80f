package io.portico.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A JVM the benchmark starts (the broker, Portico): its output goes to a log file, and
 * {@link #awaitLine} waits for the line that says it is ready. {@link #close} stops it by its
 * PID, gracefully first.
 */
final class Child implements AutoCloseable {
    private final String name;
    private final Process process;
    private final Path log;
    private final CompletableFuture<String> ready = new CompletableFuture<>();
    private final String readyText;

    private Child(String name, Process process, Path log, String readyText) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.readyText = readyText;
    }

    /** Starts {@code command}; {@code readyText} is the start of the line {@link #awaitLine} waits for. */
    static Child start(String name, List<String> command, Path log, String readyText) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("PORTICO_"));
        Child child = new Child(name, pb.start(), log, readyText);
        Thread drain = new Thread(child::drain, name + "-output");
        drain.setDaemon(true);
        drain.start();
        return child;
    }

    private void drain() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8));
             Writer out = Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
            String line;
            while ((line = in.readLine()) != null) {
                out.write(line);
                out.write('\n');
                out.flush();
                if (!ready.isDone() && line.contains(readyText)) {
                    ready.complete(line);
                }
            }
        } catch (IOException ignored) {
            // the process ended
        }
        ready.completeExceptionally(new IOException(name + " ended (exit " + exitValueOrNull() + ") before printing '"
                + readyText + "'; see " + log));
    }

    private Integer exitValueOrNull() {
        try {
            process.waitFor(5, TimeUnit.SECONDS);
            return process.isAlive() ? null : process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The ready line, once printed. */
    String awaitLine(long seconds) throws IOException, InterruptedException {
        try {
            return ready.get(seconds, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IOException(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException(name + " did not print '" + readyText + "' within " + seconds + " s; see " + log);
        }
    }

    long pid() {
        return process.pid();
    }

    /**
     * The JVM that serves first, then this process when it is a launcher: {@code java -jar
     * portico.jar} given no heap option serves from a JVM it starts (its one child).
     */
    List<Long> servingPids() {
        return process.children().findFirst()
                .map(server -> List.of(server.pid(), process.pid()))
                .orElse(List.of(process.pid()));
    }

    boolean isAlive() {
        return process.isAlive();
    }

    Path log() {
        return log;
    }

    /** Closes the child's standard input (the broker stops when it ends). */
    void closeInput() {
        try {
            process.getOutputStream().close();
        } catch (IOException ignored) {
            // already gone
        }
    }

    /**
     * SIGTERM, up to {@code graceSeconds} to exit, then SIGKILL, by its PID; a launcher passes the
     * SIGTERM on to the JVM it started, and that JVM is killed too if it outlives the SIGKILL.
     */
    void stop(long graceSeconds) {
        if (!process.isAlive()) {
            return;
        }
        List<ProcessHandle> started = process.descendants().toList();
        process.destroy();
        try {
            if (!process.waitFor(graceSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
            for (ProcessHandle p : started) {
                if (p.isAlive()) {
                    p.destroyForcibly();
                }
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Waits up to {@code seconds} for the process to exit by itself. */
    boolean awaitExit(long seconds) throws InterruptedException {
        return process.waitFor(seconds, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        stop(30);
    }

    @Override
    public String toString() {
        return name + " (pid " + process.pid() + ")";
    }
}
