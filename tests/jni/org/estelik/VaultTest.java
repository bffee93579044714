package org.estelik;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.estelik.proto.AttachmentKind;
import org.estelik.proto.ExportReport;
import org.estelik.proto.ListFilter;
import org.estelik.proto.PageRequest;
import org.estelik.proto.SearchPage;
import org.estelik.proto.SearchQuery;
import org.estelik.proto.Testimony;
import org.estelik.proto.TestimonyFields;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** What an Android or desktop Java shell relies on, through the same JNI glue. */
public class VaultTest {
  private static final char[] PASS = "correct horse battery staple".toCharArray();
  private File root;
  private String dir;
  private Vault vault;

  @Before
  public void setUp() throws Exception {
    root = Files.createTempDirectory("estelik-jni").toFile();
    dir = new File(root, "vault").getPath();
    vault = Vault.create(dir, PASS, Vault.Kdf.TEST_ONLY);
  }

  @After
  public void tearDown() throws Exception {
    vault.close();
    if (new File(dir, "vault.key").exists()) Vault.wipe(dir);
    root.delete();
  }

  private static TestimonyFields fields(String title, String body) {
    return TestimonyFields.newBuilder().setLanguage("kk").setTitle(title).setBody(body).build();
  }

  @Test
  public void testimoniesRoundTripAsProtobufIncludingEmojiAndCyrillic() throws Exception {
    Testimony added = vault.addTestimony(fields("Көпір маңындағы бекет 🌉", "Бізді тоқтатты."));
    String id = Vault.idOf(added);
    assertEquals(32, id.length());
    Testimony got = vault.getTestimony(id.substring(0, 8));
    assertEquals("Көпір маңындағы бекет 🌉", got.getFields().getTitle());

    vault.editTestimony(id, fields("Бекет", "Өзгертілген мәтін."));
    assertEquals(2, vault.history(id).getVersionsCount());
    assertEquals(
        1,
        vault
            .list(ListFilter.getDefaultInstance(), PageRequest.getDefaultInstance())
            .getTestimoniesCount());
    SearchPage hits = vault.search(SearchQuery.newBuilder().setText("Өзгертілген").build());
    assertEquals(1, hits.getHitsCount());
    vault.withdraw(id);
    assertTrue(vault.getTestimony(id).getWithdrawn());
  }

  @Test
  public void attachmentsStreamThroughJavaIoAndVerify() throws Exception {
    String id = Vault.idOf(vault.addTestimony(fields("With audio", "")));
    byte[] data = new byte[300_000];
    for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 31 + i / 97);
    AttachmentOutputStream out =
        vault.newAttachment(id, "interview.m4a", null, AttachmentKind.ATTACHMENT_KIND_AUDIO);
    try (OutputStream o = out) {
      o.write(data, 0, 1000);
      o.write(data, 1000, data.length - 1000);
    }
    assertEquals(data.length, out.info().getSize());
    assertEquals("audio/mp4", out.info().getMediaType());

    ByteArrayOutputStream back = new ByteArrayOutputStream();
    try (AttachmentInputStream in = vault.openAttachment(id, 0)) {
      assertEquals("interview.m4a", in.info().getName());
      in.verify();
      byte[] buf = new byte[7000];
      for (int n; (n = in.read(buf)) > 0; ) back.write(buf, 0, n);
    }
    assertArrayEquals(data, back.toByteArray());

    AttachmentOutputStream aborted = vault.newAttachment(id, "draft.txt", "text/plain", null);
    aborted.write(data, 0, 10);
    aborted.abort();
    assertEquals(1, vault.getTestimony(id).getAttachmentsCount());
  }

  @Test
  public void attachmentDataSourceReadsAtAnyPositionLikeMediaDataSource() throws Exception {
    String id = Vault.idOf(vault.addTestimony(fields("Video", "")));
    byte[] data = new byte[3 * 65536 + 1234];
    for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 13 + i / 251);
    try (OutputStream o = vault.newAttachment(id, "clip.mp4", null, null)) {
      o.write(data);
    }
    try (AttachmentDataSource source = vault.openAttachmentDataSource(id, 0)) {
      assertEquals(data.length, source.getSize());
      assertEquals("video/mp4", source.info().getMediaType());
      java.util.Random random = new java.util.Random(7);
      byte[] buf = new byte[300_000];
      for (int k = 0; k < 50; k++) {
        long position = random.nextInt(data.length);
        int size = 1 + random.nextInt(k % 5 == 0 ? buf.length - 10 : 9000);
        int n = source.readAt(position, buf, 10, size);
        assertEquals(Math.min(size, data.length - position), n);
        for (int i = 0; i < n; i++) assertEquals(data[(int) position + i], buf[10 + i]);
      }
      // Crossing a chunk boundary, the end (fewer bytes), past the end (-1), size 0.
      assertEquals(10, source.readAt(65531, buf, 0, 10));
      assertArrayEquals(java.util.Arrays.copyOfRange(data, 65531, 65541),
          java.util.Arrays.copyOfRange(buf, 0, 10));
      assertEquals(4, source.readAt(data.length - 4, buf, 0, 100));
      assertEquals(-1, source.readAt(data.length, buf, 0, 100));
      assertEquals(-1, source.readAt(Long.MAX_VALUE, buf, 0, 100));
      assertEquals(0, source.readAt(0, buf, 0, 0));
      try {
        source.readAt(0, buf, buf.length - 5, 10);
        fail("a range outside the buffer must be refused");
      } catch (IndexOutOfBoundsException expected) {
      }
      source.verify();
      vault.lock();
      try {
        source.readAt(0, buf, 0, 10);
        fail("a data source of a locked vault must refuse");
      } catch (EstelikException e) {
        assertEquals(EstelikException.LOCKED, e.code());
      }
    }
    vault.unlock(PASS);
  }

  @Test
  public void errorsAreEstelikExceptionsWithCodeAndMessage() throws Exception {
    vault.close();
    try {
      Vault.open(dir, "guess".toCharArray());
      fail("a wrong passphrase must not open the vault");
    } catch (EstelikException e) {
      assertEquals(EstelikException.WRONG_PASSPHRASE, e.code());
      assertEquals("estelik", e.domain());
      assertTrue(e.getMessage(), e.getMessage().contains("passphrase"));
    }
    vault = Vault.open(dir, PASS);
    try {
      vault.getTestimony("zz");
      fail("a malformed id must be rejected");
    } catch (EstelikException e) {
      assertEquals(EstelikException.INVALID_ARGUMENT, e.code());
    }
    try {
      vault.addContact(new byte[5], "short key");
      fail("a 5-byte key must be rejected");
    } catch (EstelikException e) {
      assertEquals(EstelikException.INVALID_ARGUMENT, e.code());
    }
  }

  @Test
  public void panicLockRefusesCallsUntilUnlockAndStreamsStop() throws Exception {
    String id = Vault.idOf(vault.addTestimony(fields("Locked away", "")));
    try (OutputStream o = vault.newAttachment(id, "a.bin", null, null)) {
      o.write(new byte[100]);
    }
    InputStream in = vault.openAttachment(id, 0);
    vault.lock();
    assertTrue(vault.isLocked());
    try {
      vault.getTestimony(id);
      fail("a locked vault must refuse");
    } catch (EstelikException e) {
      assertEquals(EstelikException.LOCKED, e.code());
    }
    try {
      in.read();
      fail("a reader of a locked vault must refuse");
    } catch (EstelikException e) {
      assertEquals(EstelikException.LOCKED, e.code());
    }
    in.close();
    vault.unlock(PASS);
    assertFalse(vault.isLocked());
    assertEquals("Locked away", vault.getTestimony(id).getFields().getTitle());
  }

  @Test
  public void identityContactsAndCirclesWorkAcrossTwoVaults() throws Exception {
    String otherDir = new File(root, "other").getPath();
    try (Vault other = Vault.create(otherDir, PASS, Vault.Kdf.TEST_ONLY)) {
      byte[] theirs = Vault.parseQrPayload(other.qrPayload());
      assertArrayEquals(other.publicKey(), theirs);
      assertEquals(vault.safetyNumber(theirs), other.safetyNumber(vault.publicKey()));
      assertEquals(35, vault.fingerprint().length());

      vault.addContact(theirs, "Айгерім");
      assertEquals("Айгерім", vault.contacts().getContacts(0).getName());
      assertEquals(ByteString.copyFrom(theirs), vault.contacts().getContacts(0).getPublicKey());
      vault.removeContact(theirs);
      assertEquals(0, vault.contacts().getContactsCount());

      byte[] circle = vault.createCircle("Family");
      vault.addContact(theirs, "Айгерім");
      vault.addCircleMember(circle, theirs);
      assertEquals(2, vault.circle(circle).getMembersCount());
      assertEquals(1, vault.circles().getCirclesCount());
      String id = Vault.idOf(vault.addTestimony(fields("Shared", "")));
      vault.share(id, circle);
      assertEquals(
          ByteString.copyFrom(circle), vault.getTestimony(id).getFields().getCircleId());
      vault.removeCircleMember(circle, theirs);
      assertEquals(1, vault.circle(circle).getMembersCount());
    }
    Vault.wipe(otherDir);
  }

  @Test
  public void passphraseChangeAndWipe() throws Exception {
    vault.changePassphrase(PASS, "new passphrase".toCharArray());
    vault.setDuressPassphrase("duress".toCharArray());
    vault.clearDuressPassphrase();
    vault.close();
    vault = Vault.open(dir, "new passphrase".toCharArray());
    vault.close();
    Vault.wipe(dir);
    assertFalse(new File(dir, "vault.key").exists());
    try {
      Vault.open(dir, PASS);
      fail("a wiped vault must be gone");
    } catch (EstelikException e) {
      assertEquals(EstelikException.NOT_FOUND, e.code());
    }
  }

  /** Deletes a directory tree (an exported bundle). */
  private static void deleteTree(File f) {
    File[] children = f.listFiles();
    if (children != null) for (File c : children) deleteTree(c);
    f.delete();
  }

  @Test
  public void syncBetweenTwoVaultsWithEventsThenPanicLockStopsTheServer() throws Exception {
    String otherDir = new File(root, "other").getPath();
    try (Vault other = Vault.create(otherDir, PASS, Vault.Kdf.TEST_ONLY)) {
      byte[] mine = vault.publicKey();
      byte[] theirs = other.publicKey();
      vault.addContact(theirs, "Bolat");
      other.addContact(mine, "Aigerim");
      byte[] circle = vault.createCircle("Witnesses");
      vault.addCircleMember(circle, theirs);
      String id = Vault.idOf(vault.addTestimony(fields("Ақтау алаңы", "Zhanaozen strikers")));
      vault.share(id, circle);

      final List<SyncEvent> serverEvents = Collections.synchronizedList(new ArrayList<>());
      final List<SyncEvent> clientEvents = Collections.synchronizedList(new ArrayList<>());
      SyncOptions options = new SyncOptions().networkKey(new byte[32]);
      try (Sync server = vault.listen("127.0.0.1:0", options, serverEvents::add)) {
        assertTrue(server.port() > 0);
        // Transport v2: a device answers only a dialer that names its key.
        try {
          SyncOptions wrong = new SyncOptions().networkKey(new byte[32]).peerKey(theirs);
          other.syncOnce("127.0.0.1:" + server.port(), wrong, null);
          fail("a device must not answer a dialer expecting someone else");
        } catch (EstelikException e) {
          assertEquals(EstelikException.NOT_FOUND, e.code());
        }
        SyncOptions named = new SyncOptions().networkKey(new byte[32]).peerKey(mine);
        SyncStats stats = other.syncOnce("127.0.0.1:" + server.port(), named, clientEvents::add);
        assertArrayEquals(mine, stats.peerKey);
        assertTrue(stats.opsAccepted > 0);
        SearchPage hits = other.search(SearchQuery.newBuilder().setText("strikers").build());
        assertEquals(1, hits.getHitsCount());
        assertEquals("Ақтау алаңы", hits.getHits(0).getTitle());
        SyncEvent last = clientEvents.get(clientEvents.size() - 1);
        assertEquals(SyncEvent.Kind.SESSION_ENDED, last.kind);
        assertTrue(last.succeeded);
        assertEquals(SyncEvent.Kind.SESSION_STARTED, clientEvents.get(0).kind);

        // Panic-lock: the running server stops; the peer can no longer sync.
        vault.lock();
        try {
          other.syncOnce("127.0.0.1:" + server.port(), options, null);
          fail("a locked vault's server must be stopped");
        } catch (EstelikException e) {
          assertEquals(EstelikException.IO, e.code());
        }
      }
      assertTrue(serverEvents.stream().anyMatch(e -> e.kind == SyncEvent.Kind.SESSION_ENDED));
    }
    Vault.wipe(otherDir);
  }

  @Test
  public void exportedBundleVerifiesWithoutAVaultAndATamperedOneDoesNot() throws Exception {
    String id = Vault.idOf(vault.addTestimony(fields("Куәлік", "Бізді тоқтатты.")));
    File bundle = new File(root, "bundle");
    ExportReport report = vault.export(new String[] {id}, bundle.getPath());
    assertEquals(1, report.getTestimonies());
    assertArrayEquals(vault.publicKey(), report.getExporter().toByteArray());
    EvidenceVerdict verdict = Vault.verify(bundle.getPath(), null);
    assertTrue(verdict.headline(), verdict.ok());
    assertEquals(1, verdict.verdict().getTestimoniesCount());
    assertEquals(
        vault.getTestimony(id).getId(), verdict.verdict().getTestimonies(0).getTestimonyId());
    Files.write(new File(bundle, "planted.txt").toPath(), new byte[] {1, 2, 3});
    EvidenceVerdict tampered = Vault.verify(bundle.getPath(), null);
    assertFalse(tampered.ok());
    assertFalse(tampered.headline().isEmpty());
    assertTrue(tampered.headline().endsWith(tampered.verdict().getProblems(0)));
    deleteTree(bundle);
    try {
      Vault.verify(bundle.getPath(), null);
      fail("no bundle there");
    } catch (EstelikException e) {
      assertEquals(EstelikException.NOT_FOUND, e.code());
    }
  }

  @Test
  public void autoLockLocksAnIdleVaultAndTheSettingIsKept() throws Exception {
    vault.setAutoLockSeconds(1);
    assertEquals(1, vault.autoLockSeconds());
    String id = Vault.idOf(vault.addTestimony(fields("Idle", "")));
    Thread.sleep(2000);
    assertTrue(vault.tick());
    try {
      vault.getTestimony(id);
      fail("an idle vault must lock");
    } catch (EstelikException e) {
      assertEquals(EstelikException.LOCKED, e.code());
    }
    vault.unlock(PASS);
    assertEquals(1, vault.autoLockSeconds());
    vault.setAutoLockSeconds(0);
    assertFalse(vault.tick());
  }
}
