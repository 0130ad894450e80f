package io.portico.proxy;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code java -jar portico.jar [portico.properties]}: loads the configuration (file, then
 * {@code PORTICO_*} environment variables), starts Portico, and shuts it down gracefully on
 * SIGTERM or Ctrl-C. A bad configuration ends the process with status 2 and a message naming
 * the key. Given no heap option, it serves from a JVM it starts with one ({@link Launcher}).
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        // Undertow and XNIO log through jboss-logging, which would pick the log4j API that Kafka's
        // broker brings along; slf4j is where everything else goes (and its level checks are cheap).
        if (System.getProperty("org.jboss.logging.provider") == null) {
            System.setProperty("org.jboss.logging.provider", "slf4j");
        }
        if (args.length > 1 || (args.length == 1 && (args[0].equals("-h") || args[0].equals("--help")))) {
            System.err.println("usage: java -jar portico.jar [portico.properties]");
            System.exit(2);
        }
        Path file = args.length == 1 ? Path.of(args[0]) : null;
        if (file != null && !Files.isReadable(file)) {
            System.err.println("Cannot read the configuration file " + file);
            System.exit(2);
        }
        Map<String, String> settings;
        try {
            settings = ConfigLoader.raw(file, System.getenv());
        } catch (ConfigException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        String launcher = System.getProperty(Launcher.PARENT_PROPERTY);
        if (launcher != null) {
            Launcher.exitWithLauncher(Long.parseLong(launcher));
        } else {
            // Decided before the settings are validated (the server does that): the launcher loads
            // as few classes as it can, since it stays.
            // (a blank one stops start-up in the server)
            boolean embedded = settings.getOrDefault("bootstrap.servers", "").trim().isEmpty();
            Optional<List<String>> server = Launcher.serverCommand(
                    ManagementFactory.getRuntimeMXBean().getInputArguments(),
                    "off".equals(System.getProperty(Launcher.SWITCH_PROPERTY)),
                    System.getProperty("java.home"), System.getProperty("java.class.path"), List.of(args),
                    ProcessHandle.current().pid(), Runtime.getRuntime().maxMemory(), embedded, Launcher.canTrim());
            if (server.isPresent()) {
                try {
                    System.exit(Launcher.run(server.get()));
                } catch (IOException e) {
                    System.err.println("Could not start Portico's server JVM (" + e.getMessage()
                            + "); serving from this one. -Dportico.launcher=off does so at once.");
                } catch (InterruptedException e) {
                    System.exit(1);
                }
            }
        }
        Portico portico;
        try {
            portico = Portico.start(ConfigLoader.load(file, System.getenv()));
        } catch (ConfigException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        } catch (Exception e) {
            System.err.println("Portico did not start: " + e);
            e.printStackTrace();
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(portico::close, "portico-shutdown"));
        portico.shutdownHookSet();
    }
}
