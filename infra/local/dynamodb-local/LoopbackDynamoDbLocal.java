/*
 * Starts Amazon's DynamoDB Local as its own command line does (same arguments), but listening on
 * 127.0.0.1 only. The jar's server takes a port and no address, so it listens on every interface and
 * anyone on the network could read and write the local table; this sets the address on its one
 * connector before it starts.
 *
 * The compiled class sits beside this file, so a Java runtime is all `npm start -- --dynamodb-local`
 * needs. Rebuild it with `npm run build:dynamodb-local` (needs a JDK); a test checks that the two agree.
 */
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDbLocal {
  private LoopbackDynamoDbLocal() {}

  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field serverField = DynamoDBProxyServer.class.getDeclaredField("server");
    serverField.setAccessible(true);
    Server server = (Server) serverField.get(proxy);
    Connector[] connectors = server.getConnectors();
    if (connectors.length == 0) throw new IllegalStateException("DynamoDB Local has no connector to bind to 127.0.0.1");
    for (Connector connector : connectors) ((ServerConnector) connector).setHost("127.0.0.1");
    proxy.start();
  }
}
