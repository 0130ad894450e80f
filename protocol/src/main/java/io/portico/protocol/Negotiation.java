package io.portico.protocol;

import java.util.List;

/**
 * Content negotiation as Jersey does it for Confluent's REST Proxy: the client's {@code q} for a
 * type (from its most specific matching {@code Accept} range) decides first; among types the
 * client weighs equally, the server's quality ({@code qs}) decides, so that {@code *}{@code /*}
 * gets the server's preferred type. Ties go to the earlier offer.
 */
public final class Negotiation {

    /** One type a route can produce, and the server's preference for it. */
    public record Offer(MediaType type, double qs) {
        public Offer {
            if (type == null) {
                throw new IllegalArgumentException("an offer needs a media type");
            }
        }

        /** @throws IllegalArgumentException when {@code type} is not a media type */
        public static Offer of(String type, double qs) {
            MediaType parsed = MediaType.parse(type);
            if (parsed == null) {
                throw new IllegalArgumentException("not a media type: " + type);
            }
            return new Offer(parsed, qs);
        }
    }

    private Negotiation() {
    }

    /**
     * The best offer for this {@code Accept} header, or null when the client accepts none of them
     * (the caller answers 406). Never throws, whatever the header holds: elements that are not media
     * ranges are skipped, and a header with none left accepts nothing.
     */
    public static MediaType select(String acceptHeader, List<Offer> offers) {
        List<MediaType> ranges = MediaType.parseAccept(acceptHeader);
        MediaType best = null;
        double bestQ = 0;
        double bestQs = 0;
        for (Offer offer : offers) {
            double q = clientQuality(ranges, offer.type());
            if (q > bestQ || (q == bestQ && q > 0 && offer.qs() > bestQs)) {
                best = offer.type();
                bestQ = q;
                bestQs = offer.qs();
            }
        }
        return best;
    }

    /** The client's q for {@code concrete}: that of its most specific matching range, 0 if none matches. */
    static double clientQuality(List<MediaType> ranges, MediaType concrete) {
        int bestSpecificity = 0;
        double q = 0;
        for (MediaType range : ranges) {
            int specificity = range.specificityFor(concrete);
            if (specificity > bestSpecificity) {
                bestSpecificity = specificity;
                q = range.quality();
            }
        }
        return q;
    }
}
