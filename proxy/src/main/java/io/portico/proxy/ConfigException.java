package io.portico.proxy;

/** A configuration value that cannot be used; the message names the key. Start-up fails with it. */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ConfigException(String key, String problem) {
        super("Invalid configuration " + key + ": " + problem);
    }
}
