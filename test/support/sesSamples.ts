/** Real-shaped Amazon SES event records (event publishing, eventType), after AWS's documented examples. */

const mail = {
  timestamp: "2016-10-19T23:20:52.240Z",
  source: "sender@example.com",
  sourceArn: "arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
  sendingAccountId: "123456789012",
  messageId: "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
  destination: ["recipient@example.com"],
  headersTruncated: false,
  headers: [
    { name: "From", value: "sender@example.com" },
    { name: "To", value: "recipient@example.com" },
    { name: "Subject", value: "Message sent from Amazon SES" },
  ],
  commonHeaders: {
    from: ["sender@example.com"],
    to: ["recipient@example.com"],
    messageId: "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
    subject: "Message sent from Amazon SES",
  },
  tags: {
    "ses:configuration-set": ["ConfigSet"],
    "ses:source-ip": ["192.0.2.0"],
    "ses:from-domain": ["example.com"],
    "ses:caller-identity": ["ses_user"],
    campaign: ["book"],
  },
};

export const sesBounce = {
  eventType: "Bounce",
  bounce: {
    bounceType: "Permanent",
    bounceSubType: "General",
    bouncedRecipients: [
      {
        emailAddress: "recipient@example.com",
        action: "failed",
        status: "5.1.1",
        diagnosticCode: "smtp; 550 5.1.1 user unknown",
      },
    ],
    timestamp: "2017-08-05T00:41:02.669Z",
    feedbackId: "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
    reportingMTA: "dsn; mta.example.com",
  },
  mail,
};

export const sesTransientBounce = {
  eventType: "Bounce",
  bounce: {
    bounceType: "Transient",
    bounceSubType: "MailboxFull",
    bouncedRecipients: [{ emailAddress: "recipient@example.com", status: "4.2.2" }],
    timestamp: "2017-08-05T00:41:02.669Z",
    feedbackId: "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000001",
  },
  mail,
};

export const sesComplaint = {
  eventType: "Complaint",
  complaint: {
    complainedRecipients: [{ emailAddress: "recipient@example.com" }],
    timestamp: "2017-08-05T00:41:02.669Z",
    feedbackId: "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000002",
    userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    complaintFeedbackType: "abuse",
    arrivalDate: "2017-08-05T00:41:02.669Z",
  },
  mail,
};

export const sesDelivery = {
  eventType: "Delivery",
  mail,
  delivery: {
    timestamp: "2016-10-19T23:21:04.133Z",
    processingTimeMillis: 11893,
    recipients: ["recipient@example.com"],
    smtpResponse: "250 2.6.0 Message received",
    reportingMTA: "mta.example.com",
  },
};

export const sesSend = { eventType: "Send", mail, send: {} };

export const sesReject = { eventType: "Reject", mail, reject: { reason: "Bad content" } };

export const sesDeliveryDelay = {
  eventType: "DeliveryDelay",
  mail,
  deliveryDelay: {
    timestamp: "2020-06-16T00:15:40.641Z",
    delayType: "TransientCommunicationFailure",
    expirationTime: "2020-06-16T00:25:40.914Z",
    delayedRecipients: [
      {
        emailAddress: "recipient@example.com",
        status: "4.4.1",
        diagnosticCode: "smtp; 421 4.4.1 Unable to connect",
      },
    ],
  },
};

export const sesOpen = {
  eventType: "Open",
  mail,
  open: {
    ipAddress: "192.0.2.1",
    timestamp: "2017-08-09T22:00:19.652Z",
    userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3 like Mac OS X) AppleWebKit/603.3.8",
  },
};

export const sesClick = {
  eventType: "Click",
  click: {
    ipAddress: "192.0.2.1",
    link: "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html",
    linkTags: { samplekey0: ["samplevalue0"] },
    timestamp: "2017-08-09T23:51:25.570Z",
    userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
  },
  mail,
};

/** Without event publishing (identity notifications), the type is in notificationType. */
export const sesBounceNotification = {
  notificationType: "Bounce",
  bounce: sesBounce.bounce,
  mail,
};

export const sesTopicArn = "arn:aws:sns:us-east-1:123456789012:ses-events";
