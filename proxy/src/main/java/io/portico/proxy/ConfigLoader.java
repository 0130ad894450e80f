package io.portico.proxy;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a properties file and lets environment variables override it. An environment variable
 * {@code PORTICO_<KEY>} sets {@code <key>}: upper case to lower case, {@code _} to {@code .},
 * {@code __} to {@code _} and {@code ___} to {@code -} (the convention of Confluent's images), so
 * {@code PORTICO_BOOTSTRAP_SERVERS} sets {@code bootstrap.servers} and
 * {@code PORTICO_PRODUCER_LINGER_MS} sets {@code producer.linger.ms}.
 */
public final class ConfigLoader {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigLoader.class);
    static final String ENV_PREFIX = "PORTICO_";

    private ConfigLoader() {
    }

    /** The file (if any) merged with the environment, validated (see {@link #forServer}). */
    public static PorticoConfig load(Path file, Map<String, String> env) {
        return PorticoConfig.from(forServer(file, env));
    }

    /** The file (if any) merged with the environment, as given. */
    static Map<String, String> raw(Path file, Map<String, String> env) {
        Map<String, String> raw = new HashMap<>();
        if (file != null) {
            Properties props = new Properties();
            try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                props.load(in);
            } catch (IOException e) {
                throw new ConfigException("(file)", "cannot read " + file + ": " + e.getMessage());
            }
            for (String name : props.stringPropertyNames()) {
                raw.put(name, props.getProperty(name));
            }
        }
        raw.putAll(fromEnvironment(env));
        return raw;
    }

    /**
     * {@code PORTICO_*} variables that are not meant for Portico: those Kubernetes gives the pods
     * beside a Service named portico or portico-… ({@code PORTICO_SERVICE_HOST},
     * {@code PORTICO_METRICS_SERVICE_PORT…}, {@code PORTICO_PORT}, {@code PORTICO_PORT_8082_TCP…}),
     * whose values are addresses, ports or protocols, and those its samples and README examples
     * read in a client's shell ({@code PORTICO_URL}, {@code PORTICO_API_KEY}, …).
     */
    private static final java.util.regex.Pattern SERVICE_LINK = java.util.regex.Pattern.compile(
            "PORTICO_([A-Z0-9_]+_)?(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_[0-9]+_(TCP|UDP|SCTP)(_(PORT|PROTO|ADDR))?)?)");
    private static final java.util.regex.Pattern SERVICE_LINK_VALUE = java.util.regex.Pattern.compile(
            "(?i)(tcp|udp|sctp)(://[0-9a-f.:\\[\\]]+:[0-9]+)?|[0-9a-f.:]+");
    private static final java.util.Set<String> CLIENT_VARIABLES = java.util.Set.of("PORTICO_URL", "PORTICO_API_KEY",
            "PORTICO_HTTPS_URL", "PORTICO_AUTH_URL", "PORTICO_URL_NO_AUTOCREATE", "PORTICO_ADMIN_TOPICS");

    /** Whether a variable that names no setting is one of those not meant for Portico (see above). */
    static boolean notForPortico(String name, String value) {
        return CLIENT_VARIABLES.contains(name) || SERVICE_LINK.matcher(name).matches()
                && value != null && SERVICE_LINK_VALUE.matcher(value.trim()).matches();
    }

    /**
     * The settings the server validates: the file's and the environment's, less the variables
     * that are not meant for Portico ({@link #notForPortico}, each logged as ignored): a Service
     * named portico or a client's shell must not stop start-up. Any other unknown variable, as an
     * unknown key in the file, still stops it (a misspelt setting must not go unnoticed).
     */
    static Map<String, String> forServer(Path file, Map<String, String> env) {
        Map<String, String> settings = raw(file, Map.of());
        for (Map.Entry<String, String> e : env.entrySet()) {
            String name = e.getKey();
            if (!name.startsWith(ENV_PREFIX) || name.length() == ENV_PREFIX.length()) {
                continue;
            }
            String key = keyOf(name.substring(ENV_PREFIX.length()));
            // A service link of a Service named portico-admin, portico-producer, … (admin.port=tcp://…)
            // fits a prefix passed on to the Kafka clients: only Portico's own keys win over the shape.
            if (!PorticoConfig.isOwnKey(key) && notForPortico(name, e.getValue())) {
                LOG.warn("Ignoring the environment variable {}: it names no setting (Kubernetes service links and "
                        + "client variables are not meant for Portico)", name);
            } else {
                settings.put(key, e.getValue());
            }
        }
        return settings;
    }

    /** The settings that {@code PORTICO_*} variables make. */
    static Map<String, String> fromEnvironment(Map<String, String> env) {
        Map<String, String> out = new HashMap<>();
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (e.getKey().startsWith(ENV_PREFIX) && e.getKey().length() > ENV_PREFIX.length()) {
                out.put(keyOf(e.getKey().substring(ENV_PREFIX.length())), e.getValue());
            }
        }
        return out;
    }

    /** The environment variable that sets {@code key}: the inverse of {@link #keyOf}. */
    static String environmentName(String key) {
        StringBuilder out = new StringBuilder(ENV_PREFIX);
        for (char c : key.toCharArray()) {
            switch (c) {
                case '-' -> out.append("___");
                case '_' -> out.append("__");
                case '.' -> out.append('_');
                default -> out.append(Character.toUpperCase(c));
            }
        }
        return out.toString();
    }

    static String keyOf(String envName) {
        return envName.toLowerCase(Locale.ROOT)
                .replace("___", "\u0000")
                .replace("__", "\u0001")
                .replace('_', '.')
                .replace('\u0001', '_')
                .replace('\u0000', '-');
    }
}
