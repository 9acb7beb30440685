/** Real-shaped provider webhook bodies, after each provider's documented examples. */

export const genericBounce = {
  type: "email.bounced",
  email_id: "msg_abc123def456",
  recipient: "invalid@example.com",
  timestamp: "2026-03-03T08:15:00Z",
};

export const resendBounced = {
  type: "email.bounced",
  created_at: "2024-11-22T23:41:12.126Z",
  data: {
    created_at: "2024-11-22T23:41:11.894719+00:00",
    email_id: "56761188-7520-42d8-8898-ff6fc54ce618",
    from: "Acme <onboarding@resend.dev>",
    to: ["delivered@resend.dev"],
    subject: "Sending this example",
    bounce: {
      message: "The recipient's email address is on the suppression list.",
      subType: "Suppressed",
      type: "Permanent",
    },
    tags: { category: "confirm_email" },
  },
};

export const resendClicked = {
  type: "email.clicked",
  created_at: "2024-11-24T05:00:57.163Z",
  data: {
    created_at: "2024-11-24T05:00:53.230Z",
    email_id: "56761188-7520-42d8-8898-ff6fc54ce618",
    from: "Acme <onboarding@resend.dev>",
    to: ["delivered@resend.dev"],
    subject: "Sending this example",
    click: {
      ipAddress: "122.115.53.11",
      link: "https://resend.com",
      timestamp: "2024-11-24T05:00:57.163Z",
      userAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
    },
  },
};

export const sendgridBatch = [
  {
    email: "example@test.com",
    timestamp: 1513299569,
    "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
    event: "processed",
    category: "cat facts",
    sg_event_id: "rbtnWrG1DVDGGGFHFyun0A==",
    sg_message_id: "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
  },
  {
    email: "example@test.com",
    timestamp: 1513299570,
    event: "delivered",
    category: ["cat facts", "weekly"],
    sg_event_id: "rWVYmVk90MjZJ9iohOBa3w==",
    sg_message_id: "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    response: "250 OK",
  },
  {
    email: "example@test.com",
    timestamp: 1513299571,
    event: "bounce",
    type: "bounce",
    status: "5.0.0",
    reason: "500 unknown recipient",
    sg_event_id: "6g4ZI7SA-xmRDv57GoPIPw==",
    sg_message_id: "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
  },
  {
    email: "example@test.com",
    timestamp: 1513299572,
    event: "click",
    url: "https://sendgrid.com",
    useragent: "Mozilla/4.0 (compatible; MSIE 6.1; Windows XP)",
    ip: "255.255.255.255",
    sg_event_id: "kCAi1KttyQdEKHhdC-nuEA==",
    sg_message_id: "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
  },
  {
    email: "example@test.com",
    timestamp: 1513299573,
    event: "group_resubscribe",
    sg_event_id: "Wt9bpRHiA6gNwv_Y-dUwXQ==",
    sg_message_id: "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
  },
];

/** Mailgun's `event-data`; the `signature` object is added when it is signed. */
export const mailgunFailedEventData = {
  id: "G9Bn5sl1TC6nu79C8C0bwg",
  timestamp: 1521233195.375624,
  "log-level": "error",
  event: "failed",
  severity: "permanent",
  reason: "suppress-bounce",
  envelope: { sender: "bob@sandbox.mailgun.org" },
  recipient: "alice@example.com",
  "recipient-domain": "example.com",
  message: {
    headers: {
      to: "Alice <alice@example.com>",
      "message-id": "20130503192659.13651.20287@sandbox.mailgun.org",
      from: "Bob <bob@sandbox.mailgun.org>",
      subject: "Test permanent_fail webhook",
    },
    attachments: [],
    size: 111,
  },
  tags: ["my_tag_1", "my_tag_2"],
  "delivery-status": {
    "attempt-no": 1,
    message: "",
    code: 605,
    description: "Not delivering to previously bounced address",
    "session-seconds": 0,
  },
};

export const mailgunDeliveredEventData = {
  ...mailgunFailedEventData,
  id: "CPgfbmQMTCKtHW6uIWtuVe",
  "log-level": "info",
  event: "delivered",
  severity: undefined,
  reason: undefined,
  "delivery-status": { tls: true, code: 250, description: "", message: "OK", "attempt-no": 1 },
};

export const postmarkBounce = {
  RecordType: "Bounce",
  MessageStream: "outbound",
  ID: 4323372036854775,
  Type: "HardBounce",
  TypeCode: 1,
  Name: "Hard bounce",
  Tag: "Invitation",
  MessageID: "883953f4-6105-42a2-a16a-77a8eac79483",
  Metadata: { a_key: "a_value" },
  ServerID: 23,
  Description: "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
  Details: "Test bounce details",
  Email: "john@example.com",
  From: "sender@example.com",
  BouncedAt: "2019-11-05T16:33:54.9070259Z",
  DumpAvailable: true,
  Inactive: true,
  CanActivate: true,
  Subject: "Test subject",
};

export const postmarkClick = {
  RecordType: "Click",
  MessageStream: "outbound",
  Metadata: { a_key: "a_value" },
  Recipient: "john@example.com",
  MessageID: "00000000-0000-0000-0000-000000000000",
  ReceivedAt: "2017-10-25T15:21:11.242Z",
  Tag: "welcome-email",
  ClickLocation: "HTML",
  Platform: "Desktop",
  UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_12_6)",
  OriginalLink: "https://example.com",
  Geo: { CountryISOCode: "RS", Country: "Serbia", City: "Novi Sad", IP: "188.2.95.4" },
};

export const postmarkSubscriptionChange = {
  RecordType: "SubscriptionChange",
  MessageID: "883953f4-6105-42a2-a16a-77a8eac79483",
  ServerID: 123456,
  MessageStream: "outbound",
  ChangedAt: "2020-02-01T10:53:34.416071Z",
  Recipient: "bounced-address@wildbit.com",
  Origin: "Recipient",
  SuppressSending: true,
  SuppressionReason: "HardBounce",
  Tag: "my-tag",
};
