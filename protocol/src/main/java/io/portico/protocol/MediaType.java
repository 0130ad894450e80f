package io.portico.protocol;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A parsed media type or media range: {@code type/subtype} in lower case, and the {@code q}
 * weight it carried (1 when absent). Other parameters ({@code charset}, …) are ignored, as
 * the Kafka REST media types have no parameters that matter.
 */
public record MediaType(String type, String subtype, double quality) {

    public static final MediaType ANY = new MediaType("*", "*", 1.0);

    public MediaType {
        type = type.toLowerCase(Locale.ROOT);
        subtype = subtype.toLowerCase(Locale.ROOT);
    }

    /** Parses one media type, e.g. {@code "application/json; charset=utf-8"}; null if it is not of the form type/subtype. */
    public static MediaType parse(String value) {
        if (value == null) {
            return null;
        }
        String[] parts = value.split(";");
        String essence = parts[0].trim();
        int slash = essence.indexOf('/');
        if (slash <= 0 || slash == essence.length() - 1 || essence.indexOf('/', slash + 1) >= 0
                || essence.indexOf(' ') >= 0) {
            return null;
        }
        double q = 1.0;
        for (int i = 1; i < parts.length; i++) {
            String param = parts[i].trim();
            int eq = param.indexOf('=');
            if (eq > 0 && param.substring(0, eq).trim().equalsIgnoreCase("q")) {
                try {
                    q = Double.parseDouble(param.substring(eq + 1).trim());
                } catch (NumberFormatException e) {
                    q = 0; // an unreadable weight makes the range unusable, as if q=0
                }
                if (!(q >= 0 && q <= 1)) {
                    q = 0;
                }
            }
        }
        return new MediaType(essence.substring(0, slash), essence.substring(slash + 1), q);
    }

    /**
     * Parses an {@code Accept} header into its ranges. A missing or blank header means {@code *}{@code /*}.
     * Elements that do not parse are skipped; a header with none that parse yields an empty list
     * (which accepts nothing).
     */
    public static List<MediaType> parseAccept(String header) {
        List<MediaType> ranges = new ArrayList<>();
        if (header == null || header.isBlank()) {
            ranges.add(ANY);
            return ranges;
        }
        for (String element : header.split(",")) {
            if (element.isBlank()) {
                continue;
            }
            MediaType range = parse(element);
            if (range != null) {
                ranges.add(range);
            }
        }
        return ranges;
    }

    /** {@code type/subtype}, without parameters. */
    public String essence() {
        return type + "/" + subtype;
    }

    /** How specifically this range matches {@code concrete}: 3 exact, 2 type/*, 1 any, 0 no match. */
    int specificityFor(MediaType concrete) {
        if (type.equals("*")) {
            return subtype.equals("*") ? 1 : 0;
        }
        if (!type.equals(concrete.type)) {
            return 0;
        }
        if (subtype.equals("*")) {
            return 2;
        }
        return subtype.equals(concrete.subtype) ? 3 : 0;
    }

    @Override
    public String toString() {
        return essence();
    }
}
