// Starts an in-process Neo4j 5.26 (the neo4j-harness server) for tests and CI.
// Usage: java -cp <classpath> Launcher.java PORT PASSWORD WORKDIR
// Bolt listens on 127.0.0.1:PORT with auth on (user neo4j, the given password);
// data lives under WORKDIR. Prints "NEO4J READY <bolt uri>" once it accepts work,
// then runs until killed (a shutdown hook stops the database cleanly).
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilders;

public class Launcher {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: Launcher PORT PASSWORD WORKDIR");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        String password = args[1];
        Path work = Path.of(args[2]);
        Files.createDirectories(work);
        Neo4j neo4j = Neo4jBuilders.newInProcessBuilder(work)
                .withConfig(BoltConnector.enabled, true)
                .withConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .withConfig(HttpConnector.enabled, false)
                .withConfig(HttpsConnector.enabled, false)
                .withConfig(GraphDatabaseSettings.auth_enabled, true)
                // Tests try wrong passwords on purpose; never lock the user out for it.
                .withConfig(GraphDatabaseSettings.auth_max_failed_attempts, 0)
                .withConfig(GraphDatabaseSettings.pagecache_memory, 256L * 1024 * 1024)
                .build();
        // The initial user must change its password before it can work: set ours now,
        // through the system database, so clients log in with the fixed password.
        neo4j.databaseManagementService().database("system").executeTransactionally(
                "ALTER USER neo4j SET PASSWORD $pw CHANGE NOT REQUIRED", Map.of("pw", password));
        Runtime.getRuntime().addShutdownHook(new Thread(neo4j::close));
        System.out.println("NEO4J READY " + neo4j.boltURI());
        System.out.flush();
        Thread.currentThread().join();
    }
}
